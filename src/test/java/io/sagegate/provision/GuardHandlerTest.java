package io.sagegate.provision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.provision.guard.ApprovedPairs;
import io.sagegate.provision.guard.GuardHandler;
import io.sagegate.testsupport.aws.ProvisionMoto;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sagemaker.SageMakerClient;
import software.amazon.awssdk.services.sagemaker.model.SageMakerException;

/**
 * The guard against recorded CloudTrail events (src/test/resources/cloudtrail) and a real moto
 * SageMaker: unapproved deployments are removed, approved ones untouched, odd events ignored.
 */
class GuardHandlerTest {

  static final String ENGINEER = "arn:aws:iam::123456789012:role/sagegate-test-ml-engineer";
  static final ObjectMapper JSON = new ObjectMapper();
  static ProvisionMoto moto;
  static SageMakerClient sm;

  /** The guard's own small SageMaker client, as the guard jar uses it. */
  static io.sagegate.provision.guard.GuardSageMaker guardSm;

  @BeforeAll
  static void start() throws Exception {
    moto = ProvisionMoto.start();
    sm = moto.client(SageMakerClient.builder());
    guardSm =
        io.sagegate.provision.guard.GuardSageMaker.create(
            moto.endpoint(), ProvisionMoto.REGION, ProvisionMoto.CREDENTIALS);
    String role = "arn:aws:iam::123456789012:role/sagegate-test-exec";
    for (String m : List.of("approved-model", "rogue-model")) {
      sm.createModel(
          b ->
              b.modelName(m)
                  .executionRoleArn(role)
                  .primaryContainer(
                      c -> c.image("123456789012.dkr.ecr.us-east-1.amazonaws.com/" + m + ":1")));
    }
    // An approved model name, recreated with an image nobody approved.
    sm.createModel(
        b ->
            b.modelName("swapped-model")
                .executionRoleArn(role)
                .primaryContainer(
                    c ->
                        c.image(
                            "123456789012.dkr.ecr.us-east-1.amazonaws.com/swapped-model:evil")));
    sm.createEndpointConfig(
        b ->
            b.endpointConfigName("swapped-config")
                .productionVariants(
                    v ->
                        v.variantName("AllTraffic")
                            .modelName("swapped-model")
                            .instanceType("ml.m5.large")
                            .initialInstanceCount(1)));
    for (String[] c :
        List.of(
            new String[] {"approved-config", "approved-model"},
            new String[] {"rogue-config", "rogue-model"},
            new String[] {"rogue-config-2", "rogue-model"})) {
      sm.createEndpointConfig(
          b ->
              b.endpointConfigName(c[0])
                  .productionVariants(
                      v ->
                          v.variantName("AllTraffic")
                              .modelName(c[1])
                              .instanceType("ml.m5.large")
                              .initialInstanceCount(1)));
    }
    for (String[] e :
        List.of(
            new String[] {"ep-approved", "approved-config"},
            new String[] {"ep-rogue-model", "rogue-config"},
            new String[] {"ep-rogue-role", "approved-config"})) {
      sm.createEndpoint(b -> b.endpointName(e[0]).endpointConfigName(e[1]));
    }
    for (String[] j :
        List.of(
            new String[] {"job-rogue", "rogue-model"},
            new String[] {"job-approved", "approved-model"})) {
      sm.createTransformJob(
          b ->
              b.transformJobName(j[0])
                  .modelName(j[1])
                  .transformInput(
                      i ->
                          i.dataSource(
                              d ->
                                  d.s3DataSource(
                                      s ->
                                          s.s3DataType("S3Prefix")
                                              .s3Uri("s3://acme-ml-test/batch/in/"))))
                  .transformOutput(o -> o.s3OutputPath("s3://acme-ml-test/batch/out/"))
                  .transformResources(r -> r.instanceType("ml.m5.large").instanceCount(1)));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (sm != null) {
      sm.close();
    }
    if (guardSm != null) {
      guardSm.close();
    }
    if (moto != null) {
      moto.close();
    }
  }

  private final ByteArrayOutputStream auditBytes = new ByteArrayOutputStream();
  private final GuardHandler guard =
      new GuardHandler(
          guardSm,
          new ApprovedPairs(
              Map.of(
                  ENGINEER,
                  List.of(
                      new ApprovedPairs.Model(
                          "approved-model",
                          "123456789012.dkr.ecr.us-east-1.amazonaws.com/approved-model:1"),
                      new ApprovedPairs.Model(
                          "swapped-model",
                          "123456789012.dkr.ecr.us-east-1.amazonaws.com/swapped-model:1")))),
          new PrintStream(auditBytes, true, StandardCharsets.UTF_8));

  private JsonNode run(String fixture) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = getClass().getResourceAsStream("/cloudtrail/" + fixture)) {
      guard.handleRequest(in, out, null);
    }
    String[] lines = auditBytes.toString(StandardCharsets.UTF_8).split("\n");
    assertEquals(1, lines.length, "one audit line per event");
    JsonNode audit = JSON.readTree(lines[0]);
    assertEquals(audit, JSON.readTree(out.toByteArray()), "the Lambda result is the audit record");
    return audit;
  }

  private boolean endpointExists(String name) {
    try {
      sm.describeEndpoint(b -> b.endpointName(name));
      return true;
    } catch (SageMakerException e) {
      return false;
    }
  }

  private boolean endpointConfigExists(String name) {
    try {
      sm.describeEndpointConfig(b -> b.endpointConfigName(name));
      return true;
    } catch (SageMakerException e) {
      return false;
    }
  }

  @Test
  void approvedEndpointIsLeftAlone() throws Exception {
    JsonNode a = run("create-endpoint-approved.json");
    assertEquals("approved", a.get("decision").asText());
    assertEquals("none", a.get("action").asText());
    assertEquals(ENGINEER, a.get("caller").asText());
    assertEquals(
        "approved-model",
        a.get("models").get(0).asText(),
        "models read from the endpoint config in SageMaker");
    assertTrue(a.get("eventId").asText().startsWith("e01"));
    assertTrue(endpointExists("ep-approved"));
  }

  @Test
  void endpointWithUnapprovedModelIsDeleted() throws Exception {
    assertTrue(endpointExists("ep-rogue-model"));
    JsonNode a = run("create-endpoint-unapproved-model.json");
    assertEquals("unapproved", a.get("decision").asText());
    assertEquals("DeleteEndpoint ep-rogue-model", a.get("action").asText());
    assertTrue(a.get("reason").asText().contains("rogue-model"));
    assertTrue(!endpointExists("ep-rogue-model"), "the endpoint is gone from SageMaker");
  }

  @Test
  void endpointByUnapprovedRoleIsDeleted() throws Exception {
    JsonNode a = run("create-endpoint-unapproved-role.json");
    assertEquals("unapproved", a.get("decision").asText());
    assertEquals("arn:aws:iam::123456789012:role/intern-sandbox", a.get("caller").asText());
    assertEquals("DeleteEndpoint ep-rogue-role", a.get("action").asText());
    assertTrue(!endpointExists("ep-rogue-role"));
    assertTrue(endpointConfigExists("approved-config"), "the approved config itself stays");
  }

  @Test
  void unapprovedEndpointConfigIsDeleted() throws Exception {
    JsonNode a = run("create-endpoint-config-unapproved.json");
    assertEquals("unapproved", a.get("decision").asText());
    assertEquals("DeleteEndpointConfig rogue-config-2", a.get("action").asText());
    assertTrue(!endpointConfigExists("rogue-config-2"));
  }

  @Test
  void anApprovedModelNameWithAnotherImageIsNotApproved() throws Exception {
    assertTrue(endpointConfigExists("swapped-config"));
    JsonNode a = run("create-endpoint-config-swapped-image.json");
    assertEquals("unapproved", a.get("decision").asText(), a.toString());
    assertTrue(a.get("reason").asText().contains("swapped-model:evil"), a.toString());
    assertEquals("DeleteEndpointConfig swapped-config", a.get("action").asText());
    assertTrue(!endpointConfigExists("swapped-config"));
  }

  @Test
  void unapprovedTransformJobIsStopped() throws Exception {
    JsonNode a = run("create-transform-job-unapproved.json");
    assertEquals("unapproved", a.get("decision").asText());
    assertEquals("rogue-model", a.get("models").get(0).asText());
    // moto 5.2.1 has no StopTransformJob: the guard's attempt is made and its failure recorded,
    // not thrown. Against AWS the action reads "StopTransformJob job-rogue".
    assertTrue(a.get("action").asText().startsWith("StopTransformJob job-rogue"), a.toString());
  }

  @Test
  void approvedTransformJobIsLeftAlone() throws Exception {
    JsonNode a = run("create-transform-job-approved.json");
    assertEquals("approved", a.get("decision").asText());
    assertEquals("none", a.get("action").asText());
    assertEquals(
        "Completed",
        sm.describeTransformJob(b -> b.transformJobName("job-approved"))
            .transformJobStatusAsString());
  }

  @Test
  void oddEventsAreRecordedAndIgnored() throws Exception {
    for (String f :
        List.of(
            "malformed.json",
            "unexpected-s3-event.json",
            "create-endpoint-access-denied.json",
            "create-endpoint-no-parameters.json")) {
      auditBytes.reset();
      JsonNode a = run(f);
      assertEquals("ignored", a.get("decision").asText(), f);
      assertEquals("none", a.get("action").asText(), f);
    }
    assertTrue(endpointConfigExists("rogue-config"), "a failed call removes nothing");
    auditBytes.reset();
    JsonNode a = guardOn("[1,2,3]");
    assertEquals("ignored", a.get("decision").asText());
  }

  private JsonNode guardOn(String body) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    guard.handleRequest(new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8)), out, null);
    return JSON.readTree(out.toByteArray());
  }

  @Test
  void approvedPairsFromTheEnvironmentFormat() {
    ApprovedPairs p =
        ApprovedPairs.fromJson(
            "[{\"role\":\""
                + ENGINEER
                + "\",\"models\":[{\"name\":\"Fraud-Model\",\"image\":\"img:1\"}]}]");
    assertTrue(
        p.approved(ENGINEER.toUpperCase(), "fraud-model", "img:1"),
        "IAM and SageMaker names compare without case");
    assertTrue(
        !p.approved(ENGINEER, "fraud-model", "img:2"),
        "a model name alone is not approved: its image is part of it");
    assertTrue(!p.approved(ENGINEER, "other-model", "img:1"));
    assertThrows(
        IllegalArgumentException.class,
        () -> ApprovedPairs.fromJson("[{\"role\":\"r\",\"models\":[\"fraud-model\"]}]"),
        "the name-only form is refused");
    assertEquals(p.asMap(), ApprovedPairs.fromJson(p.toJson()).asMap());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> ApprovedPairs.fromJson("{\"role\":1}"));
    assertTrue(e.getMessage().contains(ApprovedPairs.ENV_VAR));
  }

  /**
   * What the stack itself creates, deployed by an approved caller through CloudFormation, is never
   * removed: the rendered guard approves the models under their generated names with their images.
   */
  @Test
  void whatTheStackCreatesForAnApprovedCallerIsLeftAlone() throws Exception {
    java.nio.file.Path specFile =
        java.nio.file.Path.of("src/test/resources/provision/moto-spec.yaml");
    ProvisionSpec spec = ProvisionSpec.load(specFile);
    TemplateRenderer r =
        new TemplateRenderer(
            spec, "test", io.sagegate.config.ConfigLoader.load(spec.gatewayConfigFile("test")));
    JsonNode template = r.render();
    ApprovedPairs pairs =
        ApprovedPairs.fromJson(
            template
                .path("Resources")
                .path("GuardFunction")
                .path("Properties")
                .path("Environment")
                .path("Variables")
                .path(ApprovedPairs.ENV_VAR)
                .asText());
    String model = r.modelName("model-a");
    String config = r.endpointConfigName("config-a");
    assertTrue(
        model.startsWith("model-a-") && config.startsWith("config-a-"), model + " " + config);
    String image = spec.models().get(0).image();
    sm.createModel(
        b ->
            b.modelName(model)
                .executionRoleArn("arn:aws:iam::123456789012:role/sagegate-test-exec-model-a")
                .primaryContainer(c -> c.image(image)));
    sm.createEndpointConfig(
        b ->
            b.endpointConfigName(config)
                .productionVariants(
                    v ->
                        v.variantName("AllTraffic")
                            .modelName(model)
                            .instanceType("ml.m5.large")
                            .initialInstanceCount(1)));
    com.fasterxml.jackson.databind.node.ObjectNode event;
    try (InputStream in =
        getClass().getResourceAsStream("/cloudtrail/create-endpoint-config-unapproved.json")) {
      event = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(in);
    }
    com.fasterxml.jackson.databind.node.ObjectNode d =
        (com.fasterxml.jackson.databind.node.ObjectNode) event.path("detail");
    String deployer = "arn:aws:iam::123456789012:role/ci-deployer";
    ((com.fasterxml.jackson.databind.node.ObjectNode) d.path("userIdentity"))
        .put("invokedBy", "cloudformation.amazonaws.com")
        .put("arn", "arn:aws:sts::123456789012:assumed-role/ci-deployer/pipeline");
    ((com.fasterxml.jackson.databind.node.ObjectNode)
            d.path("userIdentity").path("sessionContext").path("sessionIssuer"))
        .put("arn", deployer);
    ((com.fasterxml.jackson.databind.node.ObjectNode) d.path("requestParameters"))
        .put("endpointConfigName", config);
    ((com.fasterxml.jackson.databind.node.ObjectNode)
            d.path("requestParameters").path("productionVariants").path(0))
        .put("modelName", model);
    GuardHandler g =
        new GuardHandler(
            guardSm,
            pairs,
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
    GuardHandler.Verdict v = g.handle(JSON.writeValueAsBytes(event));
    assertEquals("approved", v.decision(), v.toString());
    assertTrue(endpointConfigExists(config), "the stack's own configuration stays");
    // The same names from an unapproved caller are removed.
    ((com.fasterxml.jackson.databind.node.ObjectNode)
            d.path("userIdentity").path("sessionContext").path("sessionIssuer"))
        .put("arn", "arn:aws:iam::123456789012:role/intern-sandbox");
    assertEquals("unapproved", g.handle(JSON.writeValueAsBytes(event)).decision());
  }

  /**
   * {@code provision guard-test} feeds a recorded event to the handler against a chosen endpoint.
   */
  @Test
  void theGuardRunsLocallyOnARecordedEvent() throws Exception {
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    System.setProperty("aws.accessKeyId", "testing");
    System.setProperty("aws.secretAccessKey", "testing");
    try {
      int code =
          new picocli.CommandLine(new io.sagegate.cli.ProvisionCommand())
              .setOut(new java.io.PrintWriter(out))
              .setErr(new java.io.PrintWriter(err))
              .execute(
                  "guard-test",
                  "--spec",
                  "src/test/resources/provision/moto-spec.yaml",
                  "--env",
                  "test",
                  "--event",
                  "src/test/resources/cloudtrail/create-transform-job-unapproved.json",
                  "--endpoint-url",
                  moto.endpoint().toString());
      assertEquals(1, code, out + " " + err);
      JsonNode audit = JSON.readTree(out.toString());
      assertEquals("unapproved", audit.path("decision").asText());
      assertEquals("CreateTransformJob", audit.path("eventName").asText());
      assertTrue(err.toString().contains("guard: unapproved"), err.toString());
      int missing =
          new picocli.CommandLine(new io.sagegate.cli.ProvisionCommand())
              .setErr(new java.io.PrintWriter(err))
              .execute(
                  "guard-test",
                  "--spec",
                  "src/test/resources/provision/moto-spec.yaml",
                  "--env",
                  "test",
                  "--event",
                  "no-such-event.json");
      assertEquals(2, missing);
    } finally {
      System.clearProperty("aws.accessKeyId");
      System.clearProperty("aws.secretAccessKey");
    }
  }
}
