package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.ConfigLoader;
import io.sagegate.testsupport.GatedStreamBackend;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A drain whose deadline passes with calls still open ends them: a call with no answer yet gets 503
 * ServiceUnavailable, a stream under way is cut; both records say {@code gateway:shutdown}, never
 * {@code caller:gone}. Meanwhile {@code /readyz} is 503, {@code sagegate_draining} is 1, and after
 * the drain delay no new connection is accepted.
 */
class DrainIntegrationTest {

  @TempDir Path dir;
  private Vertx vertx;
  private GatedStreamBackend model;
  private GatewayAssembly assembly;
  private RecordingAuditSink audit;
  private PrometheusMeterRegistry registry;
  private String token;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    model = GatedStreamBackend.start(vertx).await(AWAIT_SECONDS, SECONDS);
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(
        file,
        """
        server: {port: 0, managementPort: 0}
        auth: {devIssuer: true}
        endpoints:
          - {name: held, backend: {type: container, url: "%s", timeout: 60s}}
        rules:
          - {id: all, effect: allow, principal: {groups: [g]}}
        """
            .formatted(model.url()));
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    audit = new RecordingAuditSink();
    assembly =
        GatewayAssembly.start(vertx, ConfigLoader.load(file), registry, audit, dir.resolve("keys"))
            .await(AWAIT_SECONDS, SECONDS);
    token =
        DevIssuer.loadOrCreate(dir.resolve("keys"))
            .mint("sam", List.of("g"), List.of(), null, Duration.ofMinutes(5), Map.of());
  }

  @AfterEach
  void stop() throws Exception {
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private CompletableFuture<HttpResponse<String>> call(String operation) {
    // A client of its own per call: one connection each; HTTP/1.1, as SageMaker Runtime clients
    // speak.
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .build()
        .sendAsync(
            HttpCalls.post(assembly.gateway().port(), "/endpoints/held/" + operation, token, "{}")
                .timeout(Duration.ofSeconds(60))
                .build(),
            HttpResponse.BodyHandlers.ofString());
  }

  private int readyz() {
    return HttpCalls.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + assembly.gateway().managementPort() + "/readyz"))
                .GET())
        .statusCode();
  }

  @Test
  void callsStillOpenAtTheDeadlineAreEndedAndAuditedAsShutdown() throws Exception {
    int port = assembly.gateway().port();
    CompletableFuture<HttpResponse<String>> stream = call("invocations-response-stream");
    CompletableFuture<HttpResponse<String>> buffered = call("invocations");
    model.awaitStarted(2, Duration.ofSeconds(20));
    assertEquals(200, readyz());

    Future<Gateway.DrainResult> drained =
        assembly.gateway().drain(Duration.ofMillis(200), Duration.ofSeconds(1));
    assertEquals(503, readyz(), "not ready from the start of the drain");
    assertTrue(registry.scrape().contains("sagegate_draining 1.0"));

    Gateway.DrainResult result = drained.await(20, TimeUnit.SECONDS);
    assertEquals(2, result.inFlightAtStart());
    assertEquals(2, result.endedAtDeadline());

    HttpResponse<String> refused = buffered.get(20, TimeUnit.SECONDS);
    assertEquals(503, refused.statusCode(), refused.body());
    assertEquals(
        "ServiceUnavailable", refused.headers().firstValue("x-amzn-ErrorType").orElse(null));
    // The stream was cut mid-way: the caller sees its connection end early.
    try {
      HttpResponse<String> cut = stream.get(20, TimeUnit.SECONDS);
      assertFalse(cut.body().contains(GatedStreamBackend.FINAL.trim()), cut.body());
    } catch (java.util.concurrent.ExecutionException expected) {
      // a truncated chunked body
    }
    List<JsonNode> records =
        audit.all().stream().filter(r -> "held".equals(r.path("endpoint").asText())).toList();
    assertEquals(2, records.size(), records.toString());
    for (JsonNode r : records) {
      assertEquals("gateway:shutdown", r.path("errorReason").asText(), r.toString());
      assertEquals("ServiceUnavailable", r.path("errorType").asText(), r.toString());
    }

    // After the delay the traffic port accepts no new connection.
    assertThrows(
        java.io.IOException.class,
        () -> {
          try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
            s.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
            if (s.getInputStream().read() < 0) {
              throw new java.io.IOException("closed without an answer");
            }
          }
        });
  }
}
