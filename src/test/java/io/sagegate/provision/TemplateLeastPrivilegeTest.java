package io.sagegate.provision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.cli.ProvisionCommand;
import io.sagegate.config.ConfigLoader;
import io.sagegate.provision.guard.ApprovedPairs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * Every example spec, every environment, rendered through {@code provision render}: the template is
 * JSON, every policy is IAM JSON, and every policy is least-privilege by the rules of the issue (no
 * wildcard actions, PassRole only on named roles to SageMaker, ARNs wherever the action takes them,
 * tag/VPC/KMS conditions, invoke and execution role trust, invoke grants equal to the rules).
 */
class TemplateLeastPrivilegeTest {

  static final ObjectMapper JSON = new ObjectMapper();

  /** Actions that support no resource-level permissions, so "*" is their only resource. */
  static final Set<String> NO_RESOURCE_LEVEL =
      Set.of(
          "ecr:GetAuthorizationToken",
          "cloudwatch:GetMetricData",
          "cloudwatch:GetMetricStatistics",
          "cloudwatch:ListMetrics",
          "cloudwatch:PutMetricData",
          "ec2:DescribeNetworkInterfaces",
          "ec2:DescribeVpcs",
          "ec2:DescribeDhcpOptions",
          "ec2:DescribeSubnets",
          "ec2:DescribeSecurityGroups");

  @TempDir static Path tmp;

  static Stream<Arguments> specsAndEnvs() {
    List<Arguments> out = new ArrayList<>();
    for (Path spec :
        List.of(
            Path.of("conf/provision.yaml"),
            Path.of("src/test/resources/provision/moto-spec.yaml"))) {
      for (String env : ProvisionSpec.load(spec).environments().keySet()) {
        out.add(Arguments.of(spec, env));
      }
    }
    return out.stream();
  }

  static JsonNode render(Path spec, String env) throws Exception {
    Path out = Files.createTempFile(tmp, env, ".json");
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new ProvisionCommand())
            .setErr(new PrintWriter(err))
            .execute("render", "--spec", spec.toString(), "--env", env, "--out", out.toString());
    assertEquals(0, code, err.toString());
    return JSON.readTree(Files.readString(out));
  }

  /** (resource logical id, kind, document) for every policy document in the template. */
  record Doc(String resource, String kind, boolean trust, JsonNode doc) {}

  static List<Doc> documents(JsonNode t) {
    List<Doc> out = new ArrayList<>();
    t.path("Resources")
        .fields()
        .forEachRemaining(
            r -> {
              JsonNode res = r.getValue();
              String kind = res.path("Metadata").path(TemplateRenderer.ROLE_KIND).asText("");
              if ("AWS::IAM::Role".equals(res.path("Type").asText())) {
                out.add(
                    new Doc(
                        r.getKey(),
                        kind,
                        true,
                        res.path("Properties").path("AssumeRolePolicyDocument")));
                res.path("Properties")
                    .path("Policies")
                    .forEach(
                        p -> out.add(new Doc(r.getKey(), kind, false, p.path("PolicyDocument"))));
              }
              if ("AWS::IAM::ManagedPolicy".equals(res.path("Type").asText())
                  || "AWS::IAM::Policy".equals(res.path("Type").asText())) {
                out.add(
                    new Doc(
                        r.getKey(), kind, false, res.path("Properties").path("PolicyDocument")));
              }
            });
    return out;
  }

  static List<String> strings(JsonNode n) {
    List<String> out = new ArrayList<>();
    if (n.isArray()) {
      n.forEach(x -> out.add(x.asText()));
    } else if (!n.isMissingNode()) {
      out.add(n.asText());
    }
    return out;
  }

  static List<JsonNode> statements(JsonNode t) {
    List<JsonNode> out = new ArrayList<>();
    for (Doc d : documents(t)) {
      if (!d.trust()) {
        d.doc().path("Statement").forEach(out::add);
      }
    }
    return out;
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void everyPolicyIsIamJson(Path spec, String env) throws Exception {
    JsonNode t = render(spec, env);
    assertEquals("2010-09-09", t.path("AWSTemplateFormatVersion").asText());
    List<Doc> docs = documents(t);
    assertTrue(docs.size() > 10, "policies rendered: " + docs.size());
    for (Doc d : docs) {
      String where = d.resource() + (d.trust() ? " trust" : " policy");
      assertEquals("2012-10-17", d.doc().path("Version").asText(), where);
      assertTrue(
          d.doc().path("Statement").isArray() && d.doc().path("Statement").size() > 0, where);
      for (JsonNode s : d.doc().path("Statement")) {
        assertTrue(Set.of("Allow", "Deny").contains(s.path("Effect").asText()), where);
        assertFalse(strings(s.path("Action")).isEmpty(), where + ": Action");
        if (d.trust()) {
          assertTrue(s.path("Principal").isObject(), where + ": Principal");
          assertTrue(
              s.path("Resource").isMissingNode(), where + ": a trust policy has no Resource");
        } else {
          assertFalse(strings(s.path("Resource")).isEmpty(), where + ": Resource");
          assertTrue(
              s.path("Principal").isMissingNode(), where + ": an identity policy has no Principal");
        }
      }
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void noWildcardActionsAndStarOnlyWhereNoResourceLevelExists(Path spec, String env)
      throws Exception {
    for (JsonNode s : statements(render(spec, env))) {
      for (String a : strings(s.path("Action"))) {
        assertFalse(a.contains("*"), "wildcard action " + a + " in " + s);
      }
      assertTrue(
          s.path("NotAction").isMissingNode() && s.path("NotResource").isMissingNode(),
          s.toString());
      for (String r : strings(s.path("Resource"))) {
        if (r.equals("*")) {
          for (String a : strings(s.path("Action"))) {
            assertTrue(
                NO_RESOURCE_LEVEL.contains(a), a + " supports resource ARNs but has Resource *");
          }
        } else {
          assertTrue(r.startsWith("arn:aws:"), r);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void passRoleOnlyOnNamedRolesToSageMaker(Path spec, String env) throws Exception {
    int seen = 0;
    for (JsonNode s : statements(render(spec, env))) {
      if (strings(s.path("Action")).contains("iam:PassRole")) {
        seen++;
        assertEquals(List.of("iam:PassRole"), strings(s.path("Action")));
        for (String r : strings(s.path("Resource"))) {
          assertTrue(r.matches("arn:aws:iam::\\d{12}:role/[\\w+=,.@-]+"), "PassRole on " + r);
        }
        assertEquals(
            "sagemaker.amazonaws.com",
            s.path("Condition").path("StringEquals").path("iam:PassedToService").asText(),
            s.toString());
      }
    }
    assertTrue(seen > 0, "the ml-engineer persona passes execution roles");
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void personaPoliciesCarryTagVpcKmsAndApprovedNameConstraints(Path spec, String env)
      throws Exception {
    ProvisionSpec ps = ProvisionSpec.load(spec);
    ProvisionSpec.Environment e = ps.environment(env);
    JsonNode t = render(spec, env);
    Set<String> approvedModels = new TreeSet<>();
    Set<String> approvedConfigs = new TreeSet<>();
    Set<String> approvedEndpoints = new TreeSet<>();
    String prefix = "arn:aws:sagemaker:" + e.region() + ":" + e.account() + ":";
    // Models and configurations are named <spec name>-<hash of their create-only properties>.
    ps.models()
        .forEach(
            m ->
                approvedModels.add(
                    prefix + "model/" + sageMakerName(t, "Model", m.name(), "ModelName")));
    ps.endpointConfigs()
        .forEach(
            c ->
                approvedConfigs.add(
                    prefix
                        + "endpoint-config/"
                        + sageMakerName(t, "EndpointConfig", c.name(), "EndpointConfigName")));
    ps.endpoints().forEach(x -> approvedEndpoints.add(prefix + "endpoint/" + x.name()));
    int creates = 0;
    for (ProvisionSpec.Persona p : ps.personas()) {
      JsonNode role = t.path("Resources").path(TemplateRenderer.id("Role", p.name()));
      assertTrue(role.isObject(), p.name());
      for (JsonNode s :
          role.path("Properties")
              .path("Policies")
              .path(0)
              .path("PolicyDocument")
              .path("Statement")) {
        List<String> actions = strings(s.path("Action"));
        List<String> resources = strings(s.path("Resource"));
        JsonNode c = s.path("Condition");
        for (String a : actions) {
          if (!a.startsWith("sagemaker:")) {
            continue;
          }
          String op = a.substring("sagemaker:".length());
          if (op.startsWith("Create") || op.equals("AddTags")) {
            assertEquals(
                env,
                c.path("StringEquals").path("aws:RequestTag/env").asText(),
                "RequestTag on " + s);
          } else {
            assertEquals(
                env,
                c.path("StringEquals").path("aws:ResourceTag/env").asText(),
                "ResourceTag on " + s);
          }
          for (String r : resources) {
            assertTrue(
                approvedModels.contains(r)
                    || approvedConfigs.contains(r)
                    || approvedEndpoints.contains(r),
                a + " on unapproved resource " + r);
          }
        }
        if (actions.contains("sagemaker:CreateModel") && p.vpc()) {
          creates++;
          assertEquals(
              JSON.valueToTree(e.subnets()),
              c.path("ForAllValues:StringEquals").path("sagemaker:VpcSubnets"));
          assertEquals(
              JSON.valueToTree(e.securityGroups()),
              c.path("ForAllValues:StringEquals").path("sagemaker:VpcSecurityGroupIds"));
          assertEquals(
              "false",
              c.path("Null").path("sagemaker:VpcSubnets").asText(),
              "the VPC is required, not optional");
        }
        if (actions.contains("sagemaker:CreateEndpointConfig")) {
          creates++;
          assertEquals(
              approvedModels,
              new TreeSet<>(strings(c.path("ForAllValues:ArnEquals").path("sagemaker:ModelArn"))),
              "only approved models");
          boolean instances =
              resources.stream()
                  .anyMatch(
                      r ->
                          ps.endpointConfigs().stream()
                              .anyMatch(
                                  x ->
                                      r.endsWith(
                                              "/"
                                                  + sageMakerName(
                                                      t,
                                                      "EndpointConfig",
                                                      x.name(),
                                                      "EndpointConfigName"))
                                          && x.variants().stream()
                                              .anyMatch(v -> v.instanceType() != null)));
          if (p.kms() && instances) {
            assertEquals(
                e.volumeKmsKey(),
                c.path("ArnEquals").path("sagemaker:VolumeKmsKey").asText(),
                s.toString());
            assertEquals(
                "false",
                c.path("Null").path("sagemaker:VolumeKmsKey").asText(),
                "a request without a volume key must not pass: " + s);
          }
          if (instances) {
            assertFalse(
                c.path("ForAllValues:StringEquals").path("sagemaker:InstanceTypes").isMissingNode(),
                s.toString());
            assertEquals(
                "false",
                c.path("Null").path("sagemaker:InstanceTypes").asText(),
                "a request without instance types must not pass the instance-type constraint: "
                    + s);
          } else {
            assertEquals(
                "true",
                c.path("Null").path("sagemaker:InstanceTypes").asText(),
                "a serverless-only grant must not create instance-backed configurations: " + s);
          }
        }
        if (actions.contains("sagemaker:CreateEndpoint")) {
          Set<String> rs = new TreeSet<>(resources);
          Set<String> expected = new TreeSet<>(approvedEndpoints);
          expected.addAll(approvedConfigs);
          assertEquals(expected, rs, "CreateEndpoint only on approved names");
        }
      }
    }
    assertTrue(creates >= 2, "the ml-engineer persona's create statements were checked");
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void invokeRolesTrustOnlyTheGatewayWithExternalIdAndGrantExactlyTheRules(Path spec, String env)
      throws Exception {
    ProvisionSpec ps = ProvisionSpec.load(spec);
    ProvisionSpec.Environment e = ps.environment(env);
    JsonNode t = render(spec, env);
    String gatewayArn =
        "arn:aws:iam::" + e.account() + ":role/" + ps.gateway().roleName() + "-" + env;
    var config = ConfigLoader.load(ps.gatewayConfigFile(env));
    Map<String, Map<String, Set<String>>> iam = new TreeMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = t.path("Resources").fields();
    int invokeRoles = 0;
    while (it.hasNext()) {
      JsonNode r = it.next().getValue();
      if (!"invoke".equals(r.path("Metadata").path(TemplateRenderer.ROLE_KIND).asText())) {
        continue;
      }
      invokeRoles++;
      String name = r.path("Properties").path("RoleName").asText();
      boolean externalId = false;
      Set<String> trustActions = new HashSet<>();
      for (JsonNode s : r.path("Properties").path("AssumeRolePolicyDocument").path("Statement")) {
        assertEquals(
            JSON.valueToTree(Map.of("AWS", gatewayArn)),
            s.path("Principal"),
            "trusted only by the gateway");
        List<String> actions = strings(s.path("Action"));
        trustActions.addAll(actions);
        if (actions.contains("sts:AssumeRole")) {
          assertEquals(
              config.aws().externalId(),
              s.path("Condition").path("StringEquals").path("sts:ExternalId").asText());
          externalId = true;
        }
      }
      assertTrue(externalId, name + " requires the ExternalId");
      assertEquals(
          Set.of("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"), trustActions);
      Map<String, Set<String>> grants = new TreeMap<>();
      for (JsonNode s :
          r.path("Properties").path("Policies").path(0).path("PolicyDocument").path("Statement")) {
        for (String res : strings(s.path("Resource"))) {
          assertTrue(
              res.startsWith("arn:aws:sagemaker:" + e.region() + ":" + e.account() + ":endpoint/"),
              res);
          String ep = res.substring(res.lastIndexOf('/') + 1);
          strings(s.path("Action"))
              .forEach(a -> grants.computeIfAbsent(ep, k -> new TreeSet<>()).add(a));
        }
      }
      iam.put(name, grants);
    }
    assertTrue(invokeRoles > 0);
    assertEquals(
        expectedGrants(spec, env),
        iam,
        "each invoke role may call exactly what the rules allow with it");
    assertEquals(List.of(), IamDiff.differences(t, config, e.region(), e.account()));
  }

  static String sageMakerName(JsonNode t, String prefix, String specName, String property) {
    String name =
        t.path("Resources")
            .path(TemplateRenderer.id(prefix, specName))
            .path("Properties")
            .path(property)
            .asText();
    assertTrue(name.startsWith(specName + "-"), name);
    return name;
  }

  /**
   * IAM's ForAllValues operators are true when the request omits the key: every create action that
   * constrains a key with one must also require the key with a Null condition, for every persona of
   * every example (the ml-engineer's CreateEndpointConfig with no instance type or no volume key,
   * the VPC of CreateModel).
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void everyConstrainedCreateRequiresItsKeys(Path spec, String env) throws Exception {
    int checked = 0;
    for (JsonNode s : statements(render(spec, env))) {
      JsonNode c = s.path("Condition");
      for (Iterator<Map.Entry<String, JsonNode>> ops = c.fields(); ops.hasNext(); ) {
        Map.Entry<String, JsonNode> op = ops.next();
        if (!op.getKey().startsWith("ForAllValues:")) {
          continue;
        }
        for (Iterator<String> keys = op.getValue().fieldNames(); keys.hasNext(); ) {
          String key = keys.next();
          checked++;
          assertEquals(
              "false",
              c.path("Null").path(key).asText(),
              "ForAllValues on "
                  + key
                  + " without Null=false lets a request that omits it through: "
                  + s);
        }
      }
      for (String a : strings(s.path("Action"))) {
        if (a.equals("sagemaker:CreateEndpointConfig")) {
          assertFalse(
              c.path("Null").path("sagemaker:InstanceTypes").isMissingNode(),
              "CreateEndpointConfig must say whether instance types are required: " + s);
        }
      }
    }
    assertTrue(checked > 0);
  }

  /** Written out by hand from the gateway configurations, independently of InvokeGrants. */
  static Map<String, Map<String, Set<String>>> expectedGrants(Path spec, String env) {
    String invoke = "sagemaker:InvokeEndpoint";
    if (spec.toString().contains("moto-spec")) {
      // ep-other is denied to everyone by an unconditional deny rule: invoke-b gets nothing.
      return Map.of(
          "sagegate-test-invoke-a",
          Map.of("ep-allowed", Set.of(invoke)),
          "sagegate-test-invoke-b",
          Map.of());
    }
    String p = "sagegate-" + env + "-invoke-";
    return Map.of(
        p + "risk", Map.of("fraud-scorer", Set.of(invoke)),
        p + "nlp", Map.of("sentiment", Set.of(invoke)),
        p + "support", Map.of("sentiment", Set.of(invoke)),
        p + "growth", Map.of("churn-batch", Set.of("sagemaker:InvokeEndpointAsync")));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void executionRolesAreTrustedOnlyBySageMakerInTheAccount(Path spec, String env) throws Exception {
    ProvisionSpec.Environment e = ProvisionSpec.load(spec).environment(env);
    int seen = 0;
    for (Doc d : documents(render(spec, env))) {
      if (d.trust() && d.kind().equals("execution")) {
        seen++;
        assertEquals(1, d.doc().path("Statement").size());
        JsonNode s = d.doc().path("Statement").path(0);
        assertEquals(
            JSON.valueToTree(Map.of("Service", "sagemaker.amazonaws.com")), s.path("Principal"));
        assertEquals(List.of("sts:AssumeRole"), strings(s.path("Action")));
        assertEquals(
            e.account(),
            s.path("Condition").path("StringEquals").path("aws:SourceAccount").asText());
        assertEquals(
            "arn:aws:sagemaker:" + e.region() + ":" + e.account() + ":*",
            s.path("Condition").path("ArnLike").path("aws:SourceArn").asText());
      }
    }
    assertTrue(seen > 0);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void sageMakerResourcesAreTaggedWithVpcAndKms(Path spec, String env) throws Exception {
    ProvisionSpec ps = ProvisionSpec.load(spec);
    ProvisionSpec.Environment e = ps.environment(env);
    JsonNode t = render(spec, env);
    for (ProvisionSpec.Model m : ps.models()) {
      JsonNode props =
          t.path("Resources").path(TemplateRenderer.id("Model", m.name())).path("Properties");
      assertTrue(tags(props).contains("env=" + env), m.name());
      if (m.inVpc()) {
        assertEquals(JSON.valueToTree(e.subnets()), props.path("VpcConfig").path("Subnets"));
      }
    }
    for (ProvisionSpec.EndpointConfigSpec c : ps.endpointConfigs()) {
      JsonNode props =
          t.path("Resources")
              .path(TemplateRenderer.id("EndpointConfig", c.name()))
              .path("Properties");
      assertTrue(tags(props).contains("env=" + env));
      if (c.variants().stream().anyMatch(v -> v.instanceType() != null)) {
        assertEquals(e.volumeKmsKey(), props.path("KmsKeyId").asText(), c.name());
      }
      if (c.dataCapture() != null) {
        assertEquals(e.dataKmsKey(), props.path("DataCaptureConfig").path("KmsKeyId").asText());
      }
    }
    for (ProvisionSpec.Endpoint x : ps.endpoints()) {
      JsonNode r = t.path("Resources").path(TemplateRenderer.id("Endpoint", x.name()));
      assertEquals("AWS::SageMaker::Endpoint", r.path("Type").asText());
      assertTrue(tags(r.path("Properties")).contains("env=" + env));
      assertTrue(t.path("Outputs").has(TemplateRenderer.id("EndpointName", x.name())));
    }
    assertTrue(t.path("Outputs").has("GatewayRoleArn"));
  }

  static Set<String> tags(JsonNode props) {
    Set<String> out = new TreeSet<>();
    props
        .path("Tags")
        .forEach(tag -> out.add(tag.path("Key").asText() + "=" + tag.path("Value").asText()));
    return out;
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void theGuardWatchesDeploymentsWithAMinimalRole(Path spec, String env) throws Exception {
    ProvisionSpec ps = ProvisionSpec.load(spec);
    JsonNode t = render(spec, env);
    JsonNode rule = t.path("Resources").path("GuardRule");
    assertEquals("AWS::Events::Rule", rule.path("Type").asText());
    JsonNode pattern = rule.path("Properties").path("EventPattern");
    assertEquals(List.of("aws.sagemaker"), strings(pattern.path("source")));
    assertEquals(List.of("AWS API Call via CloudTrail"), strings(pattern.path("detail-type")));
    assertEquals(
        Set.of("CreateEndpoint", "CreateEndpointConfig", "CreateTransformJob"),
        new HashSet<>(strings(pattern.path("detail").path("eventName"))));
    JsonNode fn = t.path("Resources").path("GuardFunction").path("Properties");
    assertEquals("java21", fn.path("Runtime").asText(), "AWS no longer creates java17 functions");
    assertEquals(
        "io.sagegate.provision.guard.GuardHandler::handleRequest", fn.path("Handler").asText());
    assertEquals(
        ps.environment(env).guard().codeBucket(), fn.path("Code").path("S3Bucket").asText());
    ApprovedPairs pairs =
        ApprovedPairs.fromJson(
            fn.path("Environment").path("Variables").path(ApprovedPairs.ENV_VAR).asText());
    String engineer =
        "arn:aws:iam::" + ps.environment(env).account() + ":role/sagegate-" + env + "-ml-engineer";
    String model = sageMakerName(t, "Model", ps.models().get(0).name(), "ModelName");
    assertTrue(pairs.approved(engineer, model, ps.models().get(0).image()));
    assertFalse(
        pairs.approved(engineer, model, ps.models().get(0).image() + "-other"),
        "the image is part of the approval");
    assertFalse(pairs.approved(engineer, "some-other-model", ps.models().get(0).image()));
    assertEquals(
        "events.amazonaws.com",
        t.path("Resources").path("GuardPermission").path("Properties").path("Principal").asText());
    Set<String> actions = new TreeSet<>();
    t.path("Resources")
        .path("GuardRole")
        .path("Properties")
        .path("Policies")
        .path(0)
        .path("PolicyDocument")
        .path("Statement")
        .forEach(s -> actions.addAll(strings(s.path("Action"))));
    assertEquals(
        new TreeSet<>(
            List.of(
                "sagemaker:DescribeEndpointConfig",
                "sagemaker:DescribeModel",
                "sagemaker:DeleteEndpoint",
                "sagemaker:DeleteEndpointConfig",
                "sagemaker:StopTransformJob",
                "logs:CreateLogGroup",
                "logs:CreateLogStream",
                "logs:PutLogEvents")),
        actions);
  }

  /**
   * The private path: where the spec names a VPC, an interface endpoint for SageMaker Runtime with
   * private DNS, in the environment's subnets, admitting only the gateway's pods, whose policy lets
   * only the invoke roles invoke only the spec's endpoints; every invoke grant requires it.
   */
  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("specsAndEnvs")
  void theVpcEndpointAdmitsOnlyTheInvokeRolesAndTheirGrantsRequireIt(Path spec, String env)
      throws Exception {
    ProvisionSpec ps = ProvisionSpec.load(spec);
    ProvisionSpec.Environment e = ps.environment(env);
    JsonNode t = render(spec, env);
    JsonNode vpce = t.path("Resources").path("SageMakerRuntimeVpcEndpoint");
    if (e.vpcId() == null) {
      assertTrue(vpce.isMissingNode(), "no VPC named, no VPC endpoint");
      return;
    }
    JsonNode p = vpce.path("Properties");
    assertEquals("AWS::EC2::VPCEndpoint", vpce.path("Type").asText());
    assertEquals(
        "com.amazonaws." + e.region() + ".sagemaker.runtime", p.path("ServiceName").asText());
    assertEquals("Interface", p.path("VpcEndpointType").asText());
    assertTrue(p.path("PrivateDnsEnabled").asBoolean());
    assertEquals(e.vpcId(), p.path("VpcId").asText());
    assertEquals(JSON.valueToTree(e.subnets()), p.path("SubnetIds"));
    JsonNode sg =
        t.path("Resources")
            .path(p.path("SecurityGroupIds").path(0).path("Ref").asText())
            .path("Properties");
    Set<String> sources = new TreeSet<>();
    for (JsonNode in : sg.path("SecurityGroupIngress")) {
      assertEquals(443, in.path("FromPort").asInt());
      assertEquals(443, in.path("ToPort").asInt());
      sources.add(
          in.has("SourceSecurityGroupId")
              ? in.path("SourceSecurityGroupId").asText()
              : in.path("CidrIp").asText());
    }
    Set<String> gateway = new TreeSet<>(e.gatewaySecurityGroups());
    gateway.addAll(e.gatewayCidrs());
    assertEquals(gateway, sources, "only the gateway's pods reach the endpoint");

    Set<String> invokeRoles = new TreeSet<>();
    t.path("Resources")
        .forEach(
            r -> {
              if ("invoke".equals(r.path("Metadata").path(TemplateRenderer.ROLE_KIND).asText())) {
                invokeRoles.add(
                    "arn:aws:iam::"
                        + e.account()
                        + ":role/"
                        + r.path("Properties").path("RoleName").asText());
                for (JsonNode st :
                    r.path("Properties")
                        .path("Policies")
                        .path(0)
                        .path("PolicyDocument")
                        .path("Statement")) {
                  assertEquals(
                      JSON.valueToTree(Map.of("Ref", "SageMakerRuntimeVpcEndpoint")),
                      st.path("Condition").path("StringEquals").path("aws:SourceVpce"),
                      "grant usable only through the endpoint: " + st);
                }
              }
            });
    assertFalse(invokeRoles.isEmpty());
    Set<String> endpoints = new TreeSet<>();
    ps.endpoints()
        .forEach(
            x ->
                endpoints.add(
                    "arn:aws:sagemaker:"
                        + e.region()
                        + ":"
                        + e.account()
                        + ":endpoint/"
                        + x.name()));
    JsonNode policy = p.path("PolicyDocument");
    assertEquals(1, policy.path("Statement").size());
    JsonNode st = policy.path("Statement").path(0);
    assertEquals("Allow", st.path("Effect").asText());
    assertEquals(
        Set.of(
            "sagemaker:InvokeEndpoint",
            "sagemaker:InvokeEndpointWithResponseStream",
            "sagemaker:InvokeEndpointAsync"),
        new TreeSet<>(strings(st.path("Action"))));
    assertEquals(endpoints, new TreeSet<>(strings(st.path("Resource"))));
    assertEquals(
        invokeRoles,
        new TreeSet<>(strings(st.path("Condition").path("ArnEquals").path("aws:PrincipalArn"))),
        "only the gateway's invoke roles pass the endpoint policy");
    assertEquals(1, st.path("Condition").size());
    assertTrue(t.path("Outputs").has("SageMakerRuntimeVpcEndpointDns"));
    assertTrue(t.path("Outputs").has("SageMakerRuntimeEndpointUrl"));
  }
}
