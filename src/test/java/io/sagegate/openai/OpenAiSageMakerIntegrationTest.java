package io.sagegate.openai;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.ConfigLoader;
import io.sagegate.gateway.GatewayAssembly;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.sagegate.testsupport.aws.SageMakerEmulator.Behaviour;
import io.sagegate.testsupport.aws.SageMakerEmulator.RecordedRequest;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway's sagemaker backend on the OpenAI path against the checking emulator: a scoped
 * session whose policy adds CallWithBearerToken, a bearer token minted from it (the emulator
 * verifies it), the caller's JWT never forwarded, errors mapped and sanitized.
 */
class OpenAiSageMakerIntegrationTest {

  private static final String KEY = "AKIAGATEWAYTEST00001";
  private static final String SECRET = "gateway-secret";
  private static final String EXTERNAL_ID = "sagegate-ext-openai";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHAT =
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  @TempDir static Path dir;
  private static Vertx vertx;
  private static SageMakerEmulator aws;
  private static GatewayAssembly assembly;
  private static RecordingAuditSink audit;
  private static DevIssuer issuer;
  private static int port;

  @BeforeAll
  static void start() throws Exception {
    System.setProperty("aws.accessKeyId", KEY);
    System.setProperty("aws.secretAccessKey", SECRET);
    vertx = Vertx.vertx();
    aws = SageMakerEmulator.start(vertx).await(AWAIT_SECONDS, SECONDS);
    aws.addCredentials(KEY, SECRET);
    aws.addRole(
        Role.allowing(
            aws.roleArn("invoke"),
            KEY,
            EXTERNAL_ID,
            List.of("sagemaker:InvokeEndpoint", "sagemaker:CallWithBearerToken"),
            List.of("*")));
    aws.addRole(
        Role.allowing(
            aws.roleArn("no-bearer"),
            KEY,
            EXTERNAL_ID,
            List.of("sagemaker:InvokeEndpoint"),
            List.of("*")));
    String yaml =
        """
        server: {port: 0, managementPort: 0}
        auth: {devIssuer: true}
        aws:
          region: %1$s
          accountId: "%2$s"
          stsEndpoint: %3$s
          sagemakerRuntimeEndpoint: %3$s
          externalId: %4$s
        endpoints:
          - name: llm
            backend: {type: sagemaker, roleArn: "%5$s", timeout: 5s, openai: {enabled: true}}
          - name: llm-no-bearer
            backend: {type: sagemaker, roleArn: "%6$s", timeout: 5s, openai: {enabled: true}}
          - name: classic
            backend: {type: sagemaker, roleArn: "%5$s", timeout: 5s}
          - name: llm-slow
            backend: {type: sagemaker, roleArn: "%5$s", timeout: 400ms, openai: {enabled: true}}
        rules:
          - id: llm-users
            effect: allow
            principal: {groups: [llm]}
        """
            .formatted(
                aws.region(),
                aws.accountId(),
                aws.uri(),
                EXTERNAL_ID,
                aws.roleArn("invoke"),
                aws.roleArn("no-bearer"));
    audit = new RecordingAuditSink();
    issuer = DevIssuer.loadOrCreate(dir.resolve("keys"));
    assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.parse(yaml, "openai-aws.yaml"),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                audit,
                dir.resolve("keys"))
            .await(AWAIT_SECONDS, SECONDS);
    port = assembly.gateway().port();
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
  void reset() {
    aws.reset();
    aws.openAiErrorEnvelope(true);
    aws.endpoint("llm", Behaviour.OK);
    aws.endpoint("llm-no-bearer", Behaviour.OK);
  }

  private static String token() {
    return issuer.mint("alice", List.of("llm"), List.of(), null, Duration.ofMinutes(5), Map.of());
  }

  private static HttpResponse<String> chat(String path, String body) {
    return HttpCalls.send(HttpCalls.post(port, path, token(), body));
  }

  private static JsonNode auditOf(HttpResponse<?> r) {
    String id = r.headers().firstValue("x-amzn-RequestId").orElseThrow();
    JsonNode record = audit.await(id);
    assertEquals(1, audit.count(id));
    return record;
  }

  private static RecordedRequest lastChat() {
    List<RecordedRequest> chats = aws.requests(SageMakerEmulator.OPENAI_CHAT);
    return chats.get(chats.size() - 1);
  }

  @Test
  void chatGoesToAwsUnderABearerTokenFromTheCallersSession() throws Exception {
    HttpResponse<String> r = chat("/endpoints/llm/openai/v1/chat/completions", CHAT);
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("m", JSON.readTree(r.body()).path("model").asText());
    RecordedRequest sent = lastChat();
    assertEquals(200, sent.status());
    assertTrue(
        sent.header("Authorization").startsWith("Bearer sagemaker-api-key-"),
        "the caller's JWT is not forwarded");
    assertTrue(
        sent.sessionPolicy().contains("sagemaker:CallWithBearerToken"), sent.sessionPolicy());
    assertEquals("alice", sent.sourceIdentity());
    JsonNode record = auditOf(r);
    assertEquals(7, record.path("promptTokens").asInt());
    assertEquals(3, record.path("completionTokens").asInt());
    assertEquals(aws.roleArn("invoke"), record.path("roleArn").asText());
  }

  @Test
  void aTricklingAnswerIsCutOffAtTheWholeCallDeadlineAs504() throws Exception {
    // A byte every 100 ms: a connection idle timeout alone would never end this call; the same
    // deadline as InvokeEndpoint's (the timeout plus a quarter, 500 ms here) does.
    aws.endpoint("llm-slow", Behaviour.TRICKLE);
    long start = System.nanoTime();
    HttpResponse<String> r = chat("/endpoints/llm-slow/openai/v1/chat/completions", CHAT);
    long ms = Duration.ofNanos(System.nanoTime() - start).toMillis();
    assertEquals(504, r.statusCode(), r.body());
    assertEquals(
        "server_error", JSON.readTree(r.body()).path("error").path("type").asText(), r.body());
    assertTrue(ms < 4_000, "cut off at the deadline, not later: " + ms + " ms");
    // The upstream request is reset, not left open.
    aws.endpoint("llm-slow")
        .awaitEarlyCloses(1)
        .toCompletionStage()
        .toCompletableFuture()
        .get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals("sagemaker:timeout", auditOf(r).path("errorReason").asText());
  }

  @Test
  void aHangingAnswerIs504() throws Exception {
    aws.endpoint("llm-slow", Behaviour.HANG);
    HttpResponse<String> r = chat("/endpoints/llm-slow/openai/v1/chat/completions", CHAT);
    assertEquals(504, r.statusCode(), r.body());
    assertEquals("sagemaker:timeout", auditOf(r).path("errorReason").asText());
  }

  @Test
  void theTokenIsCachedWithTheSession() {
    assertEquals(200, chat("/endpoints/llm/openai/v1/chat/completions", CHAT).statusCode());
    assertEquals(200, chat("/endpoints/llm/openai/v1/chat/completions", CHAT).statusCode());
    List<RecordedRequest> chats = aws.requests(SageMakerEmulator.OPENAI_CHAT);
    assertEquals(
        chats.get(chats.size() - 2).header("Authorization"),
        chats.get(chats.size() - 1).header("Authorization"));
  }

  @Test
  void aStreamIsPassedOnWithTheAddedUsageChunkMeteredAndDropped() throws Exception {
    HttpResponse<String> r =
        chat("/endpoints/llm/openai/v1/chat/completions", CHAT.replace("{", "{\"stream\":true,"));
    assertEquals(200, r.statusCode(), r.body());
    assertTrue(r.body().endsWith("data: [DONE]\n\n"), r.body());
    assertFalse(r.body().contains("\"usage\""), r.body());
    assertTrue(
        lastChat().bodyText().contains("\"include_usage\":true"), "asked upstream for usage");
    JsonNode record = auditOf(r);
    assertEquals("invoke-stream", record.path("action").asText());
    assertEquals(3, record.path("completionTokens").asInt());
  }

  @Test
  void theInvocationsPathOfAClassicEndpointGetsNoBearerPermission() {
    aws.endpoint("classic", Behaviour.OK);
    HttpResponse<String> r =
        HttpCalls.send(HttpCalls.post(port, "/endpoints/classic/invocations", token(), "{}"));
    assertEquals(200, r.statusCode(), r.body());
    RecordedRequest sent = aws.requests(SageMakerEmulator.INVOKE).get(0);
    assertFalse(sent.sessionPolicy().contains("CallWithBearerToken"), sent.sessionPolicy());
    assertEquals(
        404,
        chat("/endpoints/classic/openai/v1/chat/completions", CHAT).statusCode(),
        "a sagemaker endpoint opts in to the OpenAI path");
  }

  @Test
  void aRoleWithoutCallWithBearerTokenIsRefusedAfterOneReMint() throws Exception {
    HttpResponse<String> r = chat("/endpoints/llm-no-bearer/openai/v1/chat/completions", CHAT);
    assertEquals(403, r.statusCode(), r.body());
    assertEquals("permission_error", JSON.readTree(r.body()).path("error").path("type").asText());
    List<RecordedRequest> chats = aws.requests(SageMakerEmulator.OPENAI_CHAT);
    assertEquals(2, chats.size(), "minted once more and retried once");
    assertTrue(auditOf(r).path("errorReason").asText().startsWith("sagemaker:bearer_refused"));
  }

  @Test
  void upstreamErrorsAreSanitizedAndMapped() throws Exception {
    aws.endpoint("llm", Behaviour.MODEL_ERROR).modelError(400, "max_tokens too large");
    HttpResponse<String> model = chat("/endpoints/llm/openai/v1/chat/completions", CHAT);
    assertEquals(424, model.statusCode(), model.body());
    String message = JSON.readTree(model.body()).path("error").path("message").asText();
    assertTrue(message.contains("max_tokens too large"), message);
    assertFalse(message.contains(aws.accountId()), "no account id: " + message);
    assertFalse(message.contains("console.aws"), "no console URL: " + message);

    aws.endpoint("llm", Behaviour.NO_CAPACITY);
    HttpResponse<String> cold =
        chat("/endpoints/llm/inference-components/ic-1/openai/v1/chat/completions", CHAT);
    assertEquals(503, cold.statusCode(), cold.body());
    assertEquals("60", cold.headers().firstValue("Retry-After").orElse(null));
    assertFalse(cold.body().contains(aws.accountId()));

    aws.endpoint("llm", Behaviour.GARBAGE);
    HttpResponse<String> garbage = chat("/endpoints/llm/openai/v1/chat/completions", CHAT);
    assertEquals(502, garbage.statusCode());
    assertEquals("server_error", JSON.readTree(garbage.body()).path("error").path("type").asText());

    aws.openAiErrorEnvelope(false);
    aws.endpoint("llm", Behaviour.SERVICE_UNAVAILABLE);
    HttpResponse<String> shaped = chat("/endpoints/llm/openai/v1/chat/completions", CHAT);
    assertEquals(503, shaped.statusCode(), shaped.body());
    assertNull(JSON.readTree(shaped.body()).get("__type"));
  }

  @Test
  void aModelErrorInSageMakersShapeIsRelayedSanitized() throws Exception {
    aws.openAiErrorEnvelope(false);
    aws.endpoint("llm", Behaviour.MODEL_ERROR)
        .modelError(
            400,
            "max_tokens too large\nTraceback (most recent call last):\n"
                + "  File \"/opt/ml/code/serve.py\", line 7, in handler");
    HttpResponse<String> r = chat("/endpoints/llm/openai/v1/chat/completions", CHAT);
    assertEquals(424, r.statusCode(), r.body());
    String message = JSON.readTree(r.body()).path("error").path("message").asText();
    assertTrue(message.contains("max_tokens too large"), message);
    assertFalse(message.contains(aws.accountId()), "no account id: " + message);
    assertFalse(message.contains("console.aws"), "no console URL: " + message);
    assertFalse(
        message.contains("Traceback") || message.contains("serve.py"),
        "no stack trace: " + message);
  }
}
