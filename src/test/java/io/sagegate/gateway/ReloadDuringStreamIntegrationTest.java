package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.ConfigWatcher;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.ReloadResult;
import io.sagegate.testsupport.GatedStreamBackend;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.HttpTracker;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
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
 * A reload that changes the very endpoint a long stream is running on retires that endpoint's
 * backend; the stream still finishes on it, with its final event and a clean audit record, and the
 * new configuration serves the next call. Real gateway, real model server, real sockets.
 */
class ReloadDuringStreamIntegrationTest {

  @TempDir Path dir;
  private final HttpTracker http = new HttpTracker();
  private Vertx vertx;
  private GatedStreamBackend model;
  private GatewayAssembly assembly;
  private ConfigWatcher watcher;
  private RecordingAuditSink audit;
  private DevIssuer issuer;
  private Path file;

  @BeforeEach
  void start() throws Exception {
    vertx = http.vertx();
    model = GatedStreamBackend.start(vertx).await(AWAIT_SECONDS, SECONDS);
    issuer = DevIssuer.loadOrCreate(dir.resolve("keys"));
    file = dir.resolve("gateway.yaml");
    Files.writeString(file, config("60s"));
    GatewayConfig config = ConfigLoader.load(file);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    audit = new RecordingAuditSink();
    assembly =
        GatewayAssembly.start(vertx, config, registry, audit, dir.resolve("keys"))
            .await(AWAIT_SECONDS, SECONDS);
    watcher =
        ConfigWatcher.startAsync(
            vertx, file, config, assembly::reload, registry, Duration.ofHours(1));
  }

  @AfterEach
  void stop() throws Exception {
    watcher.close();
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private String config(String timeout) {
    return """
        server: {port: 0, managementPort: 0}
        auth: {devIssuer: true}
        endpoints:
          - name: long-stream
            tags: {env: test}
            backend: {type: container, url: "%s", timeout: %s}
        rules:
          - {id: streamers, effect: allow, principal: {groups: [streamers]}}
        """
        .formatted(model.url(), timeout);
  }

  @Test
  void aStreamOutlivesAReloadOfItsOwnEndpoint() throws Exception {
    String token =
        issuer.mint("sam", List.of("streamers"), List.of(), null, Duration.ofMinutes(5), Map.of());
    CompletableFuture<HttpResponse<byte[]>> stream =
        HttpCalls.client()
            .sendAsync(
                HttpCalls.post(
                        assembly.gateway().port(),
                        "/endpoints/long-stream/invocations-response-stream",
                        token,
                        "{\"text\":\"go\"}")
                    .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    model.awaitStarted(1, Duration.ofSeconds(20));
    // The endpoint's backend: the gateway's one HTTP client so far.
    HttpTracker.Client oldBackend = http.createdSince(0).get(0);

    // The same endpoint, changed: its backend is rebuilt and the old one retired.
    Files.writeString(file, config("45s"));
    ReloadResult result = watcher.checkNow().await(AWAIT_SECONDS, SECONDS);
    assertEquals(ReloadResult.Status.RELOADED, result.status(), result.errors().toString());
    assertFalse(stream.isDone(), "the stream is still open after the reload");
    assertFalse(oldBackend.isClosed(), "the retired backend stays open while its stream runs");

    model.release();
    HttpResponse<byte[]> answer = stream.get(30, TimeUnit.SECONDS);
    assertEquals(200, answer.statusCode());
    String body = new String(answer.body(), StandardCharsets.ISO_8859_1);
    assertTrue(
        body.contains(GatedStreamBackend.FINAL.trim()),
        "the stream ends with its final event: " + body);
    assertFalse(body.contains("InternalStreamFailure"), body);
    String requestId = answer.headers().firstValue("x-amzn-RequestId").orElseThrow();
    JsonNode record = audit.await(requestId);
    assertEquals(200, record.get("status").asInt());
    assertNull(record.get("errorType"), record.toString());
    assertEquals(1, audit.count(requestId));
    // Once its last call has ended, the retired backend is closed (no leak).
    oldBackend.closed().future().await(10, TimeUnit.SECONDS);

    // The new backend serves the next call.
    CompletableFuture<HttpResponse<byte[]>> next =
        HttpCalls.client()
            .sendAsync(
                HttpCalls.post(
                        assembly.gateway().port(),
                        "/endpoints/long-stream/invocations-response-stream",
                        token,
                        "{\"text\":\"again\"}")
                    .build(),
                HttpResponse.BodyHandlers.ofByteArray());
    model.awaitStarted(2, Duration.ofSeconds(20));
    model.release();
    assertEquals(200, next.get(30, TimeUnit.SECONDS).statusCode());
  }
}
