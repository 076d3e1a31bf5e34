package io.sagegate.limits;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.gateway.GatewayAssembly;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.sagegate.testsupport.SlowModel;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layer 1 of admission control with real parts: a slow model container behind an endpoint with
 * {@code maxConcurrency}, called by many callers at once through the real gateway.
 */
class ConcurrencyLimitIntegrationTest {

  private static final String ISSUER = "corp";
  private static final String AUDIENCE = "sagegate";
  private static final int MAX = 3;

  private static MockOAuth2Server oidc;
  private static Vertx vertx;
  private static SlowModel model;
  @TempDir static Path keys;

  private GatewayAssembly assembly;
  private RecordingAuditSink audit;
  private PrometheusMeterRegistry registry;

  @BeforeAll
  static void start() throws Exception {
    oidc = new MockOAuth2Server();
    oidc.start();
    vertx = Vertx.vertx();
    model = SlowModel.start(vertx, 400).await(AWAIT_SECONDS, SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    model.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
    oidc.shutdown();
  }

  @AfterEach
  void stopGateway() throws Exception {
    if (assembly != null) {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
    }
  }

  private int startGateway(String admission) throws Exception {
    String yaml =
        """
        server: {port: 0, managementPort: 0}
        auth: {discoveryUrl: %s, issuer: %s, audiences: [%s]}
        %s
        endpoints:
          - name: slow
            maxConcurrency: %d
            backend: {type: container, url: "%s", timeout: 10s}
            inferenceComponents: {ic-small: {maxConcurrency: 1}}
          - name: free
            backend: {type: container, url: "%s", timeout: 10s}
        rules:
          - id: all
            effect: allow
            principal: {groups: [ml]}
        """
            .formatted(
                oidc.wellKnownUrl(ISSUER),
                oidc.issuerUrl(ISSUER),
                AUDIENCE,
                admission,
                MAX,
                model.url(),
                model.url());
    audit = new RecordingAuditSink();
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    assembly =
        GatewayAssembly.start(vertx, ConfigLoader.parse(yaml, "limits.yaml"), registry, audit, keys)
            .await(AWAIT_SECONDS, SECONDS);
    model.reset();
    return assembly.gateway().port();
  }

  private static String token() {
    return oidc.issueToken(ISSUER, "alice", AUDIENCE, Map.of("groups", List.of("ml")), 3600)
        .serialize();
  }

  private static List<HttpResponse<String>> callAtOnce(
      int port, String endpoint, int n, Map<String, String> headers) throws Exception {
    String token = token();
    List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      var request =
          HttpCalls.post(port, "/endpoints/" + endpoint + "/invocations", token, "{\"x\":1}");
      headers.forEach(request::header);
      calls.add(
          HttpCalls.client().sendAsync(request.build(), HttpResponse.BodyHandlers.ofString()));
    }
    List<HttpResponse<String>> out = new ArrayList<>();
    for (var c : calls) {
      out.add(c.get(30, TimeUnit.SECONDS));
    }
    return out;
  }

  @Test
  void aSlowModelNeverSeesMoreThanMaxConcurrencyCallsAndTheRestAreThrottledFast() throws Exception {
    int port = startGateway("");
    List<HttpResponse<String>> answers = callAtOnce(port, "slow", 12, Map.of());
    long ok = answers.stream().filter(r -> r.statusCode() == 200).count();
    List<HttpResponse<String>> refused =
        answers.stream().filter(r -> r.statusCode() == 429).toList();
    assertEquals(12, ok + refused.size(), "only 200s and 429s: " + answers);
    assertTrue(model.maxConcurrent() <= MAX, "the model saw " + model.maxConcurrent() + " at once");
    assertTrue(ok >= 1 && !refused.isEmpty(), ok + " admitted, " + refused.size() + " refused");
    for (HttpResponse<String> r : refused) {
      assertEquals("ThrottlingException", r.headers().firstValue("x-amzn-ErrorType").orElse(null));
      assertTrue(r.headers().firstValue("Retry-After").isPresent(), "Retry-After on a 429");
      assertTrue(r.body().contains("\"__type\":\"ThrottlingException\""), r.body());
    }
    String refusedId = refused.get(0).headers().firstValue("x-amzn-RequestId").orElseThrow();
    var record = audit.await(refusedId);
    assertEquals("maxConcurrency", record.path("limitId").asText());
    assertEquals("limit:concurrency", record.path("errorReason").asText());
    assertEquals(429, record.path("status").asInt());
    assertEquals(0, record.path("backendStatus").asInt(), "a refused call reaches no backend");
    assertTrue(
        registry
            .scrape()
            .contains("sagegate_limit_refusals_total{endpoint=\"slow\",limit=\"maxConcurrency\"}"),
        registry.scrape());
    // Permits come back when calls end: the next wave is admitted again.
    List<HttpResponse<String>> again = callAtOnce(port, "slow", MAX, Map.of());
    assertTrue(
        again.stream().allMatch(r -> r.statusCode() == 200), "permits were given back: " + again);
  }

  @Test
  void anInferenceComponentHasItsOwnCap() throws Exception {
    int port = startGateway("");
    List<HttpResponse<String>> answers =
        callAtOnce(port, "slow", 4, Map.of("X-Amzn-SageMaker-Inference-Component", "ic-small"));
    assertEquals(
        1, answers.stream().filter(r -> r.statusCode() == 200).count(), answers.toString());
    assertEquals(3, answers.stream().filter(r -> r.statusCode() == 429).count());
    assertEquals(1, model.maxConcurrent());
  }

  @Test
  void theGatewayWideCapOnCallsInFlightRefusesWith503() throws Exception {
    int port = startGateway("admission: {maxInFlight: 2}");
    List<HttpResponse<String>> answers = callAtOnce(port, "free", 8, Map.of());
    List<HttpResponse<String>> refused =
        answers.stream().filter(r -> r.statusCode() == 503).toList();
    long ok = answers.stream().filter(r -> r.statusCode() == 200).count();
    assertEquals(8, ok + refused.size(), answers.toString());
    assertTrue(model.maxConcurrent() <= 2, "the model saw " + model.maxConcurrent());
    assertTrue(!refused.isEmpty(), "some calls refused");
    assertEquals(
        "ServiceUnavailable", refused.get(0).headers().firstValue("x-amzn-ErrorType").orElse(null));
    assertTrue(refused.get(0).headers().firstValue("Retry-After").isPresent());
  }
}
