package io.sagegate.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.introspect.Annotated;
import com.fasterxml.jackson.databind.introspect.JacksonAnnotationIntrospector;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSecurityContext;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.SecurityContext;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceAccount;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicy;
import io.fabric8.kubernetes.api.model.networking.v1.NetworkPolicyPort;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.openshift.api.model.monitoring.v1.PrometheusRule;
import io.fabric8.openshift.api.model.monitoring.v1.ServiceMonitor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Renders every overlay under k8s/ with {@code kubectl kustomize} (as a user deploys it), reads
 * each object into fabric8's Kubernetes model with unknown fields refused (a misspelt {@code
 * readOnlyRootFilesytem} is silently ignored by the API server's default field validation in older
 * clusters and by most schema validators, and would leave the pod unhardened), and asserts the
 * hardening the deployment relies on, so removing any of it fails the build.
 *
 * <p>Why fabric8 and not the {@code kubernetes-models} npm validators: those accept unknown fields
 * (checked: a container with a {@code bogus} field validates), which is exactly the mistake to
 * catch. fabric8's model covers the built-in kinds and the Prometheus Operator's ServiceMonitor and
 * PrometheusRule, and types every field (a string where an integer belongs is refused).
 */
class KubernetesManifestsTest {

  private static final Path ROOT = Path.of("").toAbsolutePath();

  /** server.drainDelay (5 s) + server.drainTimeout (60 s): the defaults of the drain on SIGTERM. */
  private static final int DRAIN_SECONDS = 5 + 60;

  private static final String CHECKSUM_ANNOTATION = "sagegate.io/restart-config-sha256";

  /** Jackson, strict: fabric8's catch-all for unknown fields switched off, no scalar coercion. */
  private static final ObjectMapper STRICT = strictMapper();

  private static final YAMLMapper YAML = new YAMLMapper();

  private static final Map<String, Class<? extends HasMetadata>> KINDS =
      Map.ofEntries(
          Map.entry("v1/Namespace", Namespace.class),
          Map.entry("v1/ServiceAccount", ServiceAccount.class),
          Map.entry("v1/ConfigMap", ConfigMap.class),
          Map.entry("v1/Service", Service.class),
          Map.entry("apps/v1/Deployment", Deployment.class),
          Map.entry("policy/v1/PodDisruptionBudget", PodDisruptionBudget.class),
          Map.entry("autoscaling/v2/HorizontalPodAutoscaler", HorizontalPodAutoscaler.class),
          Map.entry("networking.k8s.io/v1/NetworkPolicy", NetworkPolicy.class),
          Map.entry("monitoring.coreos.com/v1/ServiceMonitor", ServiceMonitor.class),
          Map.entry("monitoring.coreos.com/v1/PrometheusRule", PrometheusRule.class));

  private static ObjectMapper strictMapper() {
    ObjectMapper m =
        JsonMapper.builder()
            .annotationIntrospector(
                new JacksonAnnotationIntrospector() {
                  @Override
                  public Boolean hasAnySetter(Annotated a) {
                    return Boolean
                        .FALSE; // fabric8's additionalProperties would swallow unknown fields
                  }
                })
            .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();
    m.coercionConfigDefaults().setCoercion(CoercionInputShape.String, CoercionAction.Fail);
    return m;
  }

  record Rendered(List<HasMetadata> objects, List<JsonNode> raw) {
    <T extends HasMetadata> List<T> all(Class<T> type) {
      return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends HasMetadata> T one(Class<T> type, String name) {
      return all(type).stream()
          .filter(o -> o.getMetadata().getName().equals(name))
          .findFirst()
          .orElseThrow(() -> new AssertionError("no " + type.getSimpleName() + " named " + name));
    }
  }

  static Rendered render(String overlay) throws Exception {
    Process p =
        new ProcessBuilder("kubectl", "kustomize", "k8s/overlays/" + overlay)
            .directory(ROOT.toFile())
            .redirectErrorStream(false)
            .start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "kubectl kustomize did not finish in 60 s");
    assertEquals(
        0,
        p.exitValue(),
        "kubectl kustomize k8s/overlays/"
            + overlay
            + ": "
            + new String(err, StandardCharsets.UTF_8));
    List<JsonNode> docs = new ArrayList<>();
    try (var parser = new YAMLFactory().createParser(out)) {
      YAML.readValues(parser, JsonNode.class).forEachRemaining(docs::add);
    }
    List<HasMetadata> objects = new ArrayList<>();
    List<String> errors = new ArrayList<>();
    for (JsonNode doc : docs) {
      String key = doc.path("apiVersion").asText() + "/" + doc.path("kind").asText();
      Class<? extends HasMetadata> type = KINDS.get(key);
      if (type == null) {
        errors.add(
            key
                + " "
                + doc.path("metadata").path("name").asText()
                + ": a kind this test does not know");
        continue;
      }
      try {
        objects.add(STRICT.treeToValue(doc, type));
      } catch (IOException e) {
        errors.add(
            key
                + " "
                + doc.path("metadata").path("name").asText()
                + ": "
                + e.getMessage().lines().findFirst().orElse(""));
      }
    }
    assertEquals(
        List.of(),
        errors,
        "objects of overlay " + overlay + " that do not fit the Kubernetes schema");
    return new Rendered(objects, docs);
  }

  @ParameterizedTest
  @ValueSource(strings = {"dev", "staging", "prod"})
  void overlayRendersValidHardenedObjects(String env) throws Exception {
    Rendered r = render(env);
    JsonNode spec =
        YAML.readTree(ROOT.resolve("conf/provision.yaml").toFile()).path("environments").path(env);
    String account = spec.path("account").asText();
    String region = spec.path("region").asText();
    assertFalse(account.isEmpty(), "conf/provision.yaml has no environment " + env);

    for (HasMetadata o : r.objects()) {
      if (!(o instanceof Namespace)) {
        assertEquals(
            "sagegate",
            o.getMetadata().getNamespace(),
            o.getKind() + " " + o.getMetadata().getName());
      }
    }

    // IRSA: the gateway role that `sagegate provision` creates for this environment.
    ServiceAccount sa = r.one(ServiceAccount.class, "sagegate");
    assertEquals(
        "arn:aws:iam::" + account + ":role/sagegate-gateway-" + env,
        sa.getMetadata().getAnnotations().get("eks.amazonaws.com/role-arn"));

    Deployment d = r.one(Deployment.class, "sagegate");
    PodSpec pod = d.getSpec().getTemplate().getSpec();
    assertEquals("sagegate", pod.getServiceAccountName());
    assertEquals(Boolean.FALSE, pod.getAutomountServiceAccountToken());
    PodSecurityContext psc = pod.getSecurityContext();
    assertNotNull(psc, "pod securityContext");
    assertEquals(Boolean.TRUE, psc.getRunAsNonRoot(), "pod runAsNonRoot");
    assertTrue(
        psc.getRunAsUser() != null && psc.getRunAsUser() > 0, "pod runAsUser numeric, not root");
    assertEquals("RuntimeDefault", psc.getSeccompProfile().getType(), "pod seccomp");
    assertTrue(
        pod.getTerminationGracePeriodSeconds() > DRAIN_SECONDS,
        "terminationGracePeriodSeconds must exceed drainDelay + drainTimeout ("
            + DRAIN_SECONDS
            + " s)");
    var spreadKeys =
        pod.getTopologySpreadConstraints().stream()
            .map(c -> c.getTopologyKey())
            .collect(Collectors.toSet());
    assertTrue(spreadKeys.contains("topology.kubernetes.io/zone"), "spread across zones");
    assertTrue(spreadKeys.contains("kubernetes.io/hostname"), "spread across nodes");

    assertEquals(1, pod.getContainers().size());
    Container c = pod.getContainers().get(0);
    SecurityContext sc = c.getSecurityContext();
    assertNotNull(sc, "container securityContext");
    assertEquals(Boolean.TRUE, sc.getRunAsNonRoot(), "runAsNonRoot");
    assertTrue(sc.getRunAsUser() == null || sc.getRunAsUser() > 0, "container runAsUser");
    assertEquals(Boolean.TRUE, sc.getReadOnlyRootFilesystem(), "readOnlyRootFilesystem");
    assertEquals(Boolean.FALSE, sc.getAllowPrivilegeEscalation(), "allowPrivilegeEscalation");
    assertTrue(sc.getPrivileged() == null || !sc.getPrivileged(), "privileged");
    assertEquals(List.of("ALL"), sc.getCapabilities().getDrop(), "capabilities drop ALL");
    assertTrue(
        sc.getCapabilities().getAdd() == null || sc.getCapabilities().getAdd().isEmpty(),
        "no capability added");
    assertTrue(
        sc.getSeccompProfile() == null
            || "RuntimeDefault".equals(sc.getSeccompProfile().getType()));

    for (String kind : List.of("cpu", "memory")) {
      assertNotNull(c.getResources().getRequests().get(kind), "requests." + kind);
      assertNotNull(c.getResources().getLimits().get(kind), "limits." + kind);
    }
    Map<String, Integer> ports =
        c.getPorts().stream()
            .collect(Collectors.toMap(p -> p.getName(), p -> p.getContainerPort()));
    assertEquals(Map.of("http", 8080, "management", 9464), ports);
    assertProbe(c.getStartupProbe(), "startup", "/healthz");
    assertProbe(c.getReadinessProbe(), "readiness", "/readyz");
    assertProbe(c.getLivenessProbe(), "liveness", "/healthz");

    // /tmp is the only writable place: an emptyDir.
    Map<String, Volume> volumes =
        pod.getVolumes().stream().collect(Collectors.toMap(Volume::getName, v -> v));
    Map<String, VolumeMount> mounts =
        c.getVolumeMounts().stream().collect(Collectors.toMap(VolumeMount::getMountPath, m -> m));
    assertNotNull(mounts.get("/tmp"), "/tmp mounted");
    assertNotNull(volumes.get(mounts.get("/tmp").getName()).getEmptyDir(), "/tmp is an emptyDir");
    // The configuration: a directory mount (not subPath), so the symlink swap reaches the gateway.
    VolumeMount conf = mounts.get("/etc/sagegate");
    assertNotNull(conf, "configuration mounted at /etc/sagegate");
    assertTrue(conf.getSubPath() == null, "no subPath: ConfigMap updates must reach the pod");
    assertEquals(Boolean.TRUE, conf.getReadOnly());
    assertEquals("sagegate-config", volumes.get(conf.getName()).getConfigMap().getName());
    assertEquals(List.of("serve", "--config", "/etc/sagegate/gateway.yaml"), c.getArgs());
    Map<String, String> env0 =
        c.getEnv().stream().collect(Collectors.toMap(e -> e.getName(), e -> e.getValue()));
    assertEquals(region, env0.get("AWS_REGION"));

    // The gateway configuration is conf/gateway-aws-<env>.yaml, byte for byte.
    ConfigMap cm = r.one(ConfigMap.class, "sagegate-config");
    String gatewayYaml = Files.readString(ROOT.resolve("conf/gateway-aws-" + env + ".yaml"));
    assertEquals(
        gatewayYaml,
        cm.getData().get("gateway.yaml"),
        "k8s/overlays/" + env + "/gateway.yaml must equal conf/gateway-aws-" + env + ".yaml");
    // A restart-only setting changed: the pods roll; endpoints and rules reload live.
    String expected = restartChecksum(gatewayYaml);
    assertEquals(
        expected,
        d.getSpec().getTemplate().getMetadata().getAnnotations().get(CHECKSUM_ANNOTATION),
        "set "
            + CHECKSUM_ANNOTATION
            + ": \""
            + expected
            + "\" in k8s/overlays/"
            + env
            + "/kustomization.yaml");

    // Services: traffic and metrics, both selecting the pods.
    Map<String, String> podLabels = d.getSpec().getTemplate().getMetadata().getLabels();
    Service traffic = r.one(Service.class, "sagegate");
    Service metrics = r.one(Service.class, "sagegate-metrics");
    for (Service s : List.of(traffic, metrics)) {
      assertTrue(
          podLabels.entrySet().containsAll(s.getSpec().getSelector().entrySet()),
          s.getMetadata().getName() + " selects the pods");
    }
    assertEquals("http", traffic.getSpec().getPorts().get(0).getTargetPort().getStrVal());
    assertEquals("management", metrics.getSpec().getPorts().get(0).getTargetPort().getStrVal());

    PodDisruptionBudget pdb = r.one(PodDisruptionBudget.class, "sagegate");
    assertTrue(
        podLabels.entrySet().containsAll(pdb.getSpec().getSelector().getMatchLabels().entrySet()));
    assertTrue(
        pdb.getSpec().getMaxUnavailable() != null || pdb.getSpec().getMinAvailable() != null);

    HorizontalPodAutoscaler hpa = r.one(HorizontalPodAutoscaler.class, "sagegate");
    assertEquals("sagegate", hpa.getSpec().getScaleTargetRef().getName());
    assertEquals("Deployment", hpa.getSpec().getScaleTargetRef().getKind());
    assertTrue(
        hpa.getSpec().getMetrics().stream()
            .anyMatch(m -> m.getResource() != null && "cpu".equals(m.getResource().getName())));
    assertTrue(hpa.getSpec().getMinReplicas() <= hpa.getSpec().getMaxReplicas());
    assertEquals(hpa.getSpec().getMinReplicas(), d.getSpec().getReplicas());

    NetworkPolicy np = r.one(NetworkPolicy.class, "sagegate");
    assertTrue(
        podLabels
            .entrySet()
            .containsAll(np.getSpec().getPodSelector().getMatchLabels().entrySet()));
    assertEquals(List.of("Ingress", "Egress"), np.getSpec().getPolicyTypes());
    List<String> ingressPorts =
        np.getSpec().getIngress().stream()
            .flatMap(i -> i.getPorts().stream())
            .map(p -> p.getPort().getStrVal())
            .toList();
    assertEquals(
        List.of("http", "management"),
        ingressPorts,
        "traffic from the ingress, management from monitoring");
    np.getSpec()
        .getIngress()
        .forEach(i -> assertFalse(i.getFrom().isEmpty(), "an ingress rule open to everyone"));
    List<Integer> egressPorts =
        np.getSpec().getEgress().stream()
            .flatMap(e -> e.getPorts().stream())
            .map(NetworkPolicyPort::getPort)
            .map(p -> p.getIntVal())
            .toList();
    assertTrue(
        egressPorts.contains(53) && egressPorts.contains(443),
        "egress to DNS and HTTPS: " + egressPorts);

    ServiceMonitor sm = r.one(ServiceMonitor.class, "sagegate");
    assertTrue(
        metrics
            .getMetadata()
            .getLabels()
            .entrySet()
            .containsAll(sm.getSpec().getSelector().getMatchLabels().entrySet()),
        "the ServiceMonitor selects the metrics Service");
    assertFalse(
        traffic
            .getMetadata()
            .getLabels()
            .entrySet()
            .containsAll(sm.getSpec().getSelector().getMatchLabels().entrySet()),
        "the ServiceMonitor must not select the traffic Service");
    assertEquals("metrics", sm.getSpec().getEndpoints().get(0).getPort());

    // The PrometheusRule carries exactly the plain rules file's groups (promtool tests those).
    JsonNode ruleDoc =
        r.raw().stream()
            .filter(n -> n.path("kind").asText().equals("PrometheusRule"))
            .findFirst()
            .orElseThrow();
    JsonNode plain = YAML.readTree(ROOT.resolve("deploy/prometheus/sagegate.rules.yaml").toFile());
    assertEquals(
        plain.path("groups"),
        ruleDoc.path("spec").path("groups"),
        "k8s/components/prometheus-operator/prometheusrule.yaml must carry deploy/prometheus/sagegate.rules.yaml's groups");

    ConfigMap dash = r.one(ConfigMap.class, "sagegate-dashboard");
    assertEquals("1", dash.getMetadata().getLabels().get("grafana_dashboard"));
    String json =
        Files.readString(ROOT.resolve("k8s/components/dashboard/sagegate-dashboard.json"));
    assertEquals(json, dash.getData().get("sagegate-dashboard.json"));
  }

  private static void assertProbe(Probe probe, String which, String path) {
    assertNotNull(probe, which + " probe");
    assertNotNull(probe.getHttpGet(), which + " probe is an HTTP GET");
    assertEquals(path, probe.getHttpGet().getPath(), which + " probe path");
    String port = probe.getHttpGet().getPort().getStrVal();
    Integer n = probe.getHttpGet().getPort().getIntVal();
    assertTrue(
        "management".equals(port) || Integer.valueOf(9464).equals(n),
        which + " probe on the management port");
  }

  /**
   * sha256 of the settings that need a restart (server, auth, audit, aws, admission: the ones
   * ConfigWatcher names as "not applied until restart"), as canonical JSON (keys sorted), so that
   * comments and endpoint, rule or limit edits do not change it. admission (issue 18) counts only
   * when present, so files without it keep the checksum they had.
   */
  static String restartChecksum(String gatewayYaml) throws Exception {
    JsonNode all = YAML.readTree(gatewayYaml);
    Map<String, Object> restartOnly = new LinkedHashMap<>();
    for (String k : List.of("server", "auth", "audit", "aws")) {
      restartOnly.put(k, all.has(k) ? YAML.convertValue(all.get(k), Object.class) : null);
    }
    if (all.has("admission")) {
      restartOnly.put("admission", YAML.convertValue(all.get("admission"), Object.class));
    }
    byte[] canonical =
        JsonMapper.builder()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .build()
            .writeValueAsBytes(restartOnly);
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
  }

  @org.junit.jupiter.api.Test
  void theRestartChecksumFollowsEveryRestartOnlySettingAndNothingElse() throws Exception {
    String base = Files.readString(ROOT.resolve("conf/gateway-aws-prod.yaml"));
    String sum = restartChecksum(base);
    // admission (gateway-wide caps, the limit store) is read only at start, like server and aws.
    assertNotEquals(
        sum,
        restartChecksum(base + "\nadmission: {maxInFlight: 100}\n"),
        "admission must roll the pods");
    assertNotEquals(
        restartChecksum(base + "\nadmission: {maxInFlight: 100}\n"),
        restartChecksum(base + "\nadmission: {maxInFlight: 200}\n"));
    // limits reload live with the rules: no roll.
    assertEquals(sum, restartChecksum(base + "\nlimits:\n  - {id: a, rate: 1}\n"));
  }

  @org.junit.jupiter.api.Test
  void theStrictReaderRefusesAnUnknownField() {
    String deployment =
        """
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
         "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
           "spec": {"containers": [{"name": "c", "image": "i",
             "securityContext": {"readOnlyRootFilesytem": true}}]}}}}""";
    try {
      STRICT.readValue(deployment, Deployment.class);
      fail("a misspelt field was accepted");
    } catch (IOException e) {
      assertTrue(e.getMessage().contains("readOnlyRootFilesytem"), e.getMessage());
    }
  }

  @org.junit.jupiter.api.Test
  void theStrictReaderRefusesAStringWhereANumberBelongs() {
    String deployment =
        """
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
         "spec": {"replicas": "3", "selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}},
           "spec": {"containers": [{"name": "c", "image": "i"}]}}}}""";
    try {
      STRICT.readValue(deployment, Deployment.class);
      fail("a string replica count was accepted");
    } catch (IOException e) {
      assertTrue(
          e.getMessage().contains("replicas") || e.getMessage().contains("Integer"),
          e.getMessage());
    }
  }
}
