package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.ConfigLoader;
import io.sagegate.eventstream.EventStreamParser;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.sagegate.testsupport.aws.SageMakerEmulator.Behaviour;
import io.sagegate.testsupport.aws.SageMakerEmulator.RecordedRequest;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole gateway on the AWS path: a caller's token, the gateway's rules, an STS AssumeRole per
 * caller and a signed SageMaker Runtime call, against the emulator (which checks SigV4 and
 * evaluates the session policy, as IAM does). The gateway's own credentials come from the default
 * chain (system properties here), as they would from IRSA or an instance role.
 */
class AwsGatewayIntegrationTest {

  private static final String KEY = "AKIAGATEWAYTEST00001";
  private static final String SECRET = "gateway-secret";
  private static final String EXTERNAL_ID = "sagegate-ext-7";
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path keys;
  private static Vertx vertx;
  private static SageMakerEmulator aws;
  private static GatewayAssembly assembly;
  private static RecordingAuditSink audit;
  private static DevIssuer issuer;

  @BeforeAll
  static void start() throws Exception {
    System.setProperty("aws.accessKeyId", KEY);
    System.setProperty("aws.secretAccessKey", SECRET);
    vertx = Vertx.vertx();
    aws = SageMakerEmulator.start(vertx).await(AWAIT_SECONDS, SECONDS);
    aws.addCredentials(KEY, SECRET);
    // The scorer role may invoke only the scorer endpoint, so IAM refuses anything else even
    // where a (mis)configured rule allows it.
    aws.addRole(
        Role.allowing(
            aws.roleArn("scorer-invoke"),
            KEY,
            EXTERNAL_ID,
            List.of("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync"),
            List.of(aws.endpointArn("scorer"), aws.endpointArn("async-scorer"))));
    aws.addRole(
        Role.allowing(
            aws.roleArn("other-external-id"),
            KEY,
            "someone-else",
            List.of("sagemaker:InvokeEndpoint"),
            List.of("*")));
    String yaml =
        """
        # Larger bodies allowed for other backends: SageMaker endpoints keep SageMaker's 6 MiB.
        server: {port: 0, managementPort: 0, maxBodyBytes: 8388608}
        auth: {devIssuer: true}
        aws:
          region: %1$s
          accountId: "%2$s"
          stsEndpoint: %3$s
          sagemakerRuntimeEndpoint: %3$s
          externalId: %4$s
          sessionTags: {team: team}
        endpoints:
          - name: Scorer
            tags: {env: prod}
            backend: {type: sagemaker, roleArn: "%5$s", timeout: 5s}
          - name: unlisted-in-iam
            tags: {env: prod}
            backend: {type: sagemaker, roleArn: "%5$s", timeout: 5s}
          - name: wrong-external-id
            backend: {type: sagemaker, roleArn: "%6$s", timeout: 5s}
          - name: async-scorer
            backend:
              type: sagemaker
              roleArn: "%5$s"
              timeout: 5s
              asyncInputPrefixes: [s3://ml-inputs/fraud/]
        rules:
          - id: no-secret-inputs
            effect: deny
            resource: {endpoints: [async-scorer]}
            conditions: {inputLocations: [s3://ml-inputs/fraud/secret/]}
          - id: risk-team
            effect: allow
            principal: {groups: [risk]}
        """
            .formatted(
                aws.region(),
                aws.accountId(),
                aws.uri(),
                EXTERNAL_ID,
                aws.roleArn("scorer-invoke"),
                aws.roleArn("other-external-id"));
    issuer = DevIssuer.loadOrCreate(keys);
    audit = new RecordingAuditSink();
    assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.parse(yaml, "aws-gateway.yaml"),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                audit,
                keys)
            .await(AWAIT_SECONDS, SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    aws.stop().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
  }

  @BeforeEach
  void resetEmulator() {
    aws.reset();
  }

  private static String token(String subject) {
    return issuer.mint(
        subject, List.of("risk"), List.of(), null, Duration.ofMinutes(10), Map.of("team", "fraud"));
  }

  private static HttpResponse<String> invoke(String endpoint, String subject) {
    return HttpCalls.send(
        HttpCalls.post(
            assembly.gateway().port(),
            "/endpoints/" + endpoint + "/invocations",
            token(subject),
            "{\"features\":[1,2,3]}"));
  }

  private static JsonNode auditOf(HttpResponse<?> response) {
    String id = response.headers().firstValue("x-amzn-RequestId").orElseThrow();
    JsonNode record = audit.await(id);
    assertEquals(1, audit.count(id));
    return record;
  }

  private static HttpResponse<String> invokeAsync(String endpoint, String subject, String input) {
    return HttpCalls.send(
        HttpCalls.post(
                assembly.gateway().port(),
                "/endpoints/" + endpoint + "/async-invocations",
                token(subject),
                "")
            .header("X-Amzn-SageMaker-InputLocation", input));
  }

  /**
   * An async call whose input location is outside the endpoint's prefixes, or inside a rule's
   * denied prefix, is refused before any STS call: no session is minted (none shows up in
   * CloudTrail), and its audit record names no role, session or SourceIdentity and has no backend
   * latency; it names the check that decided.
   */
  @Test
  void aRefusedAsyncCallSpendsNothingOnTheAwsPath() throws Exception {
    aws.endpoint("async-scorer");
    HttpResponse<String> outside =
        invokeAsync("async-scorer", "alice", "s3://ml-inputs/other/a.json");
    assertEquals(403, outside.statusCode(), outside.body());
    assertEquals(
        "AccessDeniedException", outside.headers().firstValue("x-amzn-ErrorType").orElse(null));
    JsonNode record = auditOf(outside);
    assertEquals("deny", record.path("decision").asText());
    assertEquals("endpoint-input-prefixes", record.path("ruleId").asText());
    assertEquals("async:input_location_not_allowed", record.path("errorReason").asText());
    assertRefusedBeforeAws(record);

    HttpResponse<String> secret =
        invokeAsync("async-scorer", "alice", "s3://ml-inputs/fraud/secret/a.json");
    assertEquals(403, secret.statusCode(), secret.body());
    record = auditOf(secret);
    assertEquals("deny", record.path("decision").asText());
    assertEquals("no-secret-inputs", record.path("ruleId").asText());
    assertRefusedBeforeAws(record);
    assertEquals(
        0, aws.requests(SageMakerEmulator.ASSUME_ROLE).size(), "no STS call for a refused call");
    assertEquals(0, aws.requests(SageMakerEmulator.INVOKE_ASYNC).size());

    // The deny on the secret prefix does not reach the rest of the endpoint's prefix.
    HttpResponse<String> allowed =
        invokeAsync("async-scorer", "alice", "s3://ml-inputs/fraud/public/a.json");
    assertEquals(202, allowed.statusCode(), allowed.body());
    record = auditOf(allowed);
    assertEquals("allow", record.path("decision").asText());
    assertEquals("risk-team", record.path("ruleId").asText());
    assertFalse(record.path("roleArn").isMissingNode(), record.toString());
    assertEquals(1, aws.requests(SageMakerEmulator.ASSUME_ROLE).size());
  }

  private static void assertRefusedBeforeAws(JsonNode record) {
    for (String field :
        List.of(
            "roleArn",
            "sessionName",
            "sourceIdentity",
            "backendLatencyMs",
            "backendStatus",
            "upstreamRequestId")) {
      assertTrue(
          record.path(field).isMissingNode() || record.path(field).isNull(),
          field + " in " + record);
    }
  }

  @Test
  void callRunsUnderAScopedSessionNamingTheCaller() throws Exception {
    aws.endpoint("scorer").variant("blue");
    HttpResponse<String> response = invoke("Scorer", "alice@example.com");
    assertEquals(200, response.statusCode(), response.body());
    assertEquals(
        "blue", response.headers().firstValue("X-Amzn-Invoked-Production-Variant").orElse(null));

    RecordedRequest assume = aws.requests(SageMakerEmulator.ASSUME_ROLE).get(0);
    assertEquals(EXTERNAL_ID, assume.params().get("ExternalId"));
    assertEquals("alice@example.com", assume.params().get("SourceIdentity"));
    RecordedRequest call = aws.requests(SageMakerEmulator.INVOKE).get(0);
    assertEquals("alice@example.com", call.sourceIdentity());
    assertEquals("fraud", call.sessionTags().get("team"));
    JsonNode policy = JSON.readTree(call.sessionPolicy());
    String statements = policy.path("Statement").toString();
    assertTrue(statements.contains(aws.endpointArn("scorer")), statements);
    assertFalse(
        statements.contains("*"), "the session policy names the one endpoint: " + statements);
    assertEquals("{\"features\":[1,2,3]}", call.bodyText());
    assertTrue(
        call.header("Authorization").startsWith("AWS4-HMAC-SHA256"),
        "AWS gets a SigV4 signature, never the caller's bearer token");

    JsonNode record = auditOf(response);
    assertEquals(aws.roleArn("scorer-invoke"), record.path("roleArn").asText());
    assertEquals("alice@example.com", record.path("sourceIdentity").asText());
    assertFalse(record.path("sessionName").asText().isEmpty());
    assertFalse(record.path("upstreamRequestId").asText().isEmpty());
    assertEquals("blue", record.path("invokedVariant").asText());
  }

  @Test
  void iamEnforcesTheDecisionASecondTime() throws Exception {
    // The rule allows every endpoint to the risk group; the invoke role's IAM policy does not.
    aws.endpoint("unlisted-in-iam");
    HttpResponse<String> response = invoke("unlisted-in-iam", "bob");
    assertEquals(403, response.statusCode(), response.body());
    assertEquals(
        "AccessDeniedException", response.headers().firstValue("x-amzn-ErrorType").orElse(null));
    JsonNode record = auditOf(response);
    assertEquals("allow", record.path("decision").asText(), "the gateway allowed; IAM refused");
    assertFalse(
        response.body().contains("no session policy"), "AWS's text stays out of the answer");
  }

  @Test
  void wrongExternalIdIsRefusedAndExplainedInTheAudit() throws Exception {
    HttpResponse<String> response = invoke("wrong-external-id", "carol");
    assertEquals(403, response.statusCode(), response.body());
    JsonNode record = auditOf(response);
    assertTrue(record.path("errorReason").asText().startsWith("sts:"), record.toString());
    assertEquals("AccessDeniedException", record.path("errorType").asText());
    assertEquals(
        0, aws.requests(SageMakerEmulator.INVOKE).size(), "no SageMaker call without credentials");
    // The security team sees which role was tried, for whom.
    assertEquals(
        aws.roleArn("other-external-id"), record.path("roleArn").asText(), record.toString());
    assertEquals("carol", record.path("sessionName").asText(), record.toString());
    assertEquals("carol", record.path("sourceIdentity").asText(), record.toString());
  }

  @Test
  void subjectRefusedAsSourceIdentityIsAuditedWithTheRoleOnly() throws Exception {
    HttpResponse<String> response = invoke("Scorer", "aws:root");
    assertEquals(403, response.statusCode(), response.body());
    JsonNode record = auditOf(response);
    assertEquals(
        "sts:invalid_source_identity", record.path("errorReason").asText(), record.toString());
    assertEquals(aws.roleArn("scorer-invoke"), record.path("roleArn").asText(), record.toString());
    assertFalse(record.has("sessionName"), record.toString());
    assertFalse(record.has("sourceIdentity"), record.toString());
    assertEquals(0, aws.requests(SageMakerEmulator.ASSUME_ROLE).size(), "refused before STS");
  }

  /**
   * SageMaker's 6 MiB limit holds for a sagemaker endpoint even where server.maxBodyBytes allows
   * more, and is enforced before any upstream call: no STS session is asked for a body SageMaker
   * would refuse.
   */
  @Test
  void bodyOverSageMakersLimitIsRefusedBeforeStsAndSageMaker() throws Exception {
    aws.endpoint("scorer");
    String body = "x".repeat(6 * 1024 * 1024 + 1);
    HttpResponse<String> response =
        HttpCalls.send(
            HttpCalls.post(
                assembly.gateway().port(), "/endpoints/Scorer/invocations", token("erin"), body));
    assertEquals(413, response.statusCode());
    auditOf(response);
    assertEquals(
        0,
        aws.requests(SageMakerEmulator.ASSUME_ROLE).size(),
        "no STS call for a body SageMaker refuses");
    assertEquals(0, aws.requests(SageMakerEmulator.INVOKE).size());
  }

  @Test
  void modelErrorsKeepSageMakersShape() throws Exception {
    aws.endpoint("scorer", Behaviour.MODEL_ERROR).modelError(422, "bad features");
    HttpResponse<String> response = invoke("scorer", "dave");
    assertEquals(424, response.statusCode());
    JsonNode body = JSON.readTree(response.body());
    assertEquals("ModelError", body.path("__type").asText());
    assertEquals(422, body.path("OriginalStatusCode").asInt());
  }

  @Test
  void responseStreamArrivesAsEventStreamFrames() throws Exception {
    aws.endpoint("scorer").streamTextParts("alpha ", "beta ", "gamma");
    HttpResponse<byte[]> response =
        HttpCalls.client()
            .send(
                HttpCalls.post(
                        assembly.gateway().port(),
                        "/endpoints/scorer/invocations-response-stream",
                        token("erin"),
                        "{}")
                    .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, response.statusCode());
    assertEquals(
        "application/vnd.amazon.eventstream",
        response.headers().firstValue("Content-Type").orElse(null));
    List<String> parts = new ArrayList<>();
    EventStreamParser parser =
        new EventStreamParser(
            frame -> {
              if (frame.isPayloadPart()) {
                parts.add(frame.payloadText());
              }
            });
    parser.feed(Buffer.buffer(response.body()));
    parser.end();
    assertEquals(List.of("alpha ", "beta ", "gamma"), parts);
    assertEquals("invoke-stream", auditOf(response).path("action").asText());
  }
}
