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
import io.sagegate.config.ConfigLoader;
import io.sagegate.demo.DemoModelServer;
import io.sagegate.gateway.GatewayAssembly;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAI-compatible routes over real sockets: a real OIDC issuer, the built-in demo model (demo
 * backend) and a model container on its own (container backend), the JDK's HTTP client. Every case
 * checks the status and the one audit record.
 */
class OpenAiGatewayIntegrationTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ISSUER = "corp";
  private static final String CHAT =
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"great product\"}]}";

  private static MockOAuth2Server oidc;
  private static Vertx vertx;
  private static DemoModelServer container;
  private static RecordingAuditSink audit;
  private static PrometheusMeterRegistry registry;
  private static GatewayAssembly assembly;
  private static int port;
  @TempDir static Path keys;

  @BeforeAll
  static void start() throws Exception {
    oidc = new MockOAuth2Server();
    oidc.start();
    vertx = Vertx.vertx();
    container = DemoModelServer.start(vertx, "vllm", "127.0.0.1", 0).await(AWAIT_SECONDS, SECONDS);
    String yaml =
        """
        server: {port: 0, managementPort: 0, maxBodyBytes: 4096}
        auth: {discoveryUrl: %s, issuer: %s, audiences: [sagegate], minKeyRefreshInterval: 1h}
        endpoints:
          - name: chat-demo
            tags: {env: test}
            backend: {type: demo}
          - name: chat-vllm
            tags: {env: test}
            backend: {type: container, url: "%s", timeout: 5s}
          - name: chat-path
            tags: {env: test}
            backend: {type: container, url: "%s", openai: {path: /models/custom/v1/chat/completions}}
          - name: chat-wrong-path
            tags: {env: test}
            backend: {type: container, url: "%s", openai: {path: /nowhere/v1/chat/completions}}
          - name: no-openai
            tags: {env: test}
            backend: {type: container, url: "%s", openai: {enabled: false}}
        rules:
          - id: testers
            effect: allow
            principal: {groups: [testers]}
            resource: {tags: {env: [test]}}
            actions: [invoke, invoke-stream]
          - id: buffered-only
            effect: allow
            principal: {groups: [no-stream]}
            actions: [invoke]
          - id: component-a
            effect: allow
            principal: {groups: [component-a]}
            conditions: {inferenceComponents: [comp-a]}
        """
            .formatted(
                oidc.wellKnownUrl(ISSUER),
                oidc.issuerUrl(ISSUER),
                container.url(),
                container.url(),
                container.url(),
                container.url());
    audit = new RecordingAuditSink();
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    assembly =
        GatewayAssembly.start(vertx, ConfigLoader.parse(yaml, "openai.yaml"), registry, audit, keys)
            .await(AWAIT_SECONDS, SECONDS);
    port = assembly.gateway().port();
  }

  @AfterAll
  static void stop() throws Exception {
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    container.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
    oidc.shutdown();
  }

  private static String token(String... groups) {
    return oidc.issueToken(ISSUER, "alice", "sagegate", Map.of("groups", List.of(groups)), 3600)
        .serialize();
  }

  private static HttpResponse<String> chat(String path, String token, String body) {
    return HttpCalls.send(HttpCalls.post(port, path, token, body));
  }

  private static JsonNode auditOf(HttpResponse<?> response) {
    String id = response.headers().firstValue("x-amzn-RequestId").orElseThrow();
    JsonNode record = audit.await(id);
    assertEquals(1, audit.count(id), "exactly one audit record per request");
    assertEquals(response.statusCode(), record.path("status").asInt());
    return record;
  }

  /** The OpenAI envelope with the request id header; returns the error object. */
  private static JsonNode envelope(HttpResponse<String> response, int status, String type)
      throws Exception {
    assertEquals(status, response.statusCode(), response.body());
    JsonNode error = JSON.readTree(response.body()).path("error");
    assertTrue(error.isObject(), response.body());
    assertEquals(type, error.path("type").asText(), response.body());
    assertFalse(error.path("message").asText().isBlank());
    assertTrue(error.path("code").isTextual());
    assertNull(JSON.readTree(response.body()).get("__type"));
    auditOf(response);
    return error;
  }

  @Test
  void chatOnTheDemoModelIsAnsweredAuditedAndMetered() throws Exception {
    HttpResponse<String> r =
        chat("/endpoints/chat-demo/openai/v1/chat/completions", token("testers"), CHAT);
    assertEquals(200, r.statusCode(), r.body());
    JsonNode body = JSON.readTree(r.body());
    assertEquals("chat.completion", body.path("object").asText());
    assertEquals("m", body.path("model").asText(), "model reaches the container unchanged");
    assertTrue(
        body.path("choices").path(0).path("message").path("content").asText().contains("POSITIVE"));
    JsonNode record = auditOf(r);
    assertEquals("invoke", record.path("action").asText());
    assertEquals("openai/v1/chat/completions", record.path("api").asText());
    assertEquals("chat-demo", record.path("endpoint").asText());
    assertEquals(2, record.path("promptTokens").asLong());
    assertEquals(
        body.path("usage").path("completion_tokens").asLong(),
        record.path("completionTokens").asLong());
    String scrape = registry.scrape();
    assertTrue(
        scrape.contains("sagegate_model_tokens_total{endpoint=\"chat-demo\",type=\"prompt\"}"),
        scrape);
    assertTrue(
        scrape.contains("sagegate_model_tokens_total{endpoint=\"chat-demo\",type=\"completion\"}"));
  }

  @Test
  void streamOnAContainerArrivesInChunksAndTheAddedUsageChunkIsDropped() throws Exception {
    String body = CHAT.replace("{\"model\"", "{\"stream\":true,\"model\"");
    HttpRequest request =
        HttpCalls.post(
                port, "/endpoints/chat-vllm/openai/v1/chat/completions", token("testers"), body)
            .build();
    HttpResponse<InputStream> r =
        HttpCalls.client().send(request, HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
    List<String> events = new ArrayList<>();
    try (BufferedReader in =
        new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
      for (String line; (line = in.readLine()) != null; ) {
        if (line.startsWith("data: ")) {
          events.add(line.substring(6));
        }
      }
    }
    assertEquals("[DONE]", events.get(events.size() - 1));
    assertTrue(events.size() > 4, "one chunk per word: " + events);
    assertTrue(
        events.stream().noneMatch(e -> e.contains("\"usage\"")),
        "the usage chunk the gateway asked for is not shown to a client that did not: " + events);
    JsonNode record = auditOf(r);
    assertEquals("invoke-stream", record.path("action").asText());
    assertEquals(2, record.path("promptTokens").asLong());
    assertTrue(record.path("completionTokens").asLong() > 0);
  }

  @Test
  void aClientThatAsksForUsageGetsItsUsageChunk() throws Exception {
    String body =
        CHAT.replace(
            "{\"model\"", "{\"stream\":true,\"stream_options\":{\"include_usage\":true},\"model\"");
    HttpResponse<String> r =
        chat("/endpoints/chat-demo/openai/v1/chat/completions", token("testers"), body);
    assertEquals(200, r.statusCode());
    assertTrue(r.body().contains("\"usage\""), r.body());
    assertTrue(auditOf(r).path("completionTokens").asLong() > 0);
  }

  @Test
  void streamIsTheInvokeStreamAction() throws Exception {
    String stream = CHAT.replace("{\"model\"", "{\"stream\":true,\"model\"");
    HttpResponse<String> denied =
        chat("/endpoints/chat-demo/openai/v1/chat/completions", token("no-stream"), stream);
    JsonNode e = envelope(denied, 403, "permission_error");
    assertEquals("AccessDeniedException", e.path("code").asText());
    assertEquals("invoke-stream", auditOf(denied).path("action").asText());
    assertEquals(
        200,
        chat("/endpoints/chat-demo/openai/v1/chat/completions", token("no-stream"), CHAT)
            .statusCode());
  }

  @Test
  void noTokenAndBadBodiesGetTheEnvelope() throws Exception {
    HttpResponse<String> noToken =
        chat("/endpoints/chat-demo/openai/v1/chat/completions", null, CHAT);
    envelope(noToken, 401, "authentication_error");
    assertTrue(noToken.headers().firstValue("WWW-Authenticate").isPresent());
    String t = token("testers");
    envelope(
        chat("/endpoints/chat-demo/openai/v1/chat/completions", t, "[1]"),
        400,
        "invalid_request_error");
    envelope(
        chat("/endpoints/chat-demo/openai/v1/chat/completions", t, "{nope"),
        400,
        "invalid_request_error");
    JsonNode stream =
        envelope(
            chat(
                "/endpoints/chat-demo/openai/v1/chat/completions",
                t,
                "{\"stream\":\"yes\",\"messages\":[]}"),
            400,
            "invalid_request_error");
    assertTrue(stream.path("message").asText().contains("stream"));
    envelope(
        chat(
            "/endpoints/chat-demo/openai/v1/chat/completions",
            t,
            "{\"x\":\"" + "a".repeat(5000) + "\"}"),
        413,
        "invalid_request_error");
    envelope(chat("/endpoints/chat-demo/openai/v1/embeddings", t, CHAT), 404, "not_found_error");
    envelope(
        chat("/endpoints/no-openai/openai/v1/chat/completions", t, CHAT), 404, "not_found_error");
    HttpResponse<String> header =
        HttpCalls.send(
            HttpCalls.post(port, "/endpoints/chat-demo/openai/v1/chat/completions", t, CHAT)
                .header("X-Amzn-SageMaker-Inference-Component", "comp-a"));
    assertTrue(
        envelope(header, 400, "invalid_request_error")
            .path("message")
            .asText()
            .contains("X-Amzn-SageMaker-Inference-Component"));
  }

  @Test
  void theContainersChatPathIsConfigurable() throws Exception {
    HttpResponse<String> r =
        chat("/endpoints/chat-path/openai/v1/chat/completions", token("testers"), CHAT);
    assertEquals(200, r.statusCode(), r.body());
    assertEquals("chat.completion", JSON.readTree(r.body()).path("object").asText());
    HttpResponse<String> wrong =
        chat("/endpoints/chat-wrong-path/openai/v1/chat/completions", token("testers"), CHAT);
    assertEquals(424, wrong.statusCode(), wrong.body());
    assertEquals(
        404, auditOf(wrong).path("backendStatus").asInt(), "the configured path is the one called");
  }

  @Test
  void aModelErrorIsA424WithTheModelsMessage() throws Exception {
    HttpResponse<String> r =
        chat(
            "/endpoints/chat-vllm/openai/v1/chat/completions",
            token("testers"),
            "{\"model\":\"m\"}");
    JsonNode e = envelope(r, 424, "model_error");
    assertTrue(e.path("message").asText().contains("messages"), e.toString());
    assertEquals(400, auditOf(r).path("backendStatus").asInt());
  }

  @Test
  void theComponentInThePathMeetsTheRulesCondition() throws Exception {
    String t = token("component-a");
    HttpResponse<String> a =
        chat(
            "/endpoints/chat-demo/inference-components/comp-a/openai/v1/chat/completions", t, CHAT);
    assertEquals(200, a.statusCode(), a.body());
    assertEquals("comp-a", auditOf(a).path("inferenceComponent").asText());
    envelope(
        chat(
            "/endpoints/chat-demo/inference-components/comp-b/openai/v1/chat/completions", t, CHAT),
        403,
        "permission_error");
    envelope(
        chat("/endpoints/chat-demo/openai/v1/chat/completions", t, CHAT), 403, "permission_error");
    envelope(
        chat(
            "/endpoints/chat-demo/inference-components/bad_name/openai/v1/chat/completions",
            t,
            CHAT),
        400,
        "invalid_request_error");
  }

  @Test
  void modelsListsWhatTheCallerMayInvoke() throws Exception {
    HttpRequest.Builder get =
        HttpRequest.newBuilder(
                URI.create(
                    "http://127.0.0.1:"
                        + port
                        + "/endpoints/chat-demo/inference-components/comp-a/openai/v1/models"))
            .timeout(Duration.ofSeconds(20))
            .header("Authorization", "Bearer " + token("component-a"));
    HttpResponse<String> r = HttpCalls.send(get);
    assertEquals(200, r.statusCode(), r.body());
    JsonNode body = JSON.readTree(r.body());
    assertEquals("list", body.path("object").asText());
    assertEquals("comp-a", body.path("data").path(0).path("id").asText());
    assertEquals("openai/v1/models", auditOf(r).path("api").asText());
    HttpResponse<String> other =
        HttpCalls.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + port + "/endpoints/chat-demo/openai/v1/models"))
                .header("Authorization", "Bearer " + token("component-a")));
    envelope(other, 403, "permission_error");
    HttpResponse<String> post =
        chat("/endpoints/chat-demo/openai/v1/models", token("testers"), "{}");
    assertEquals("GET", post.headers().firstValue("Allow").orElse(null));
    envelope(post, 405, "invalid_request_error");
  }
}
