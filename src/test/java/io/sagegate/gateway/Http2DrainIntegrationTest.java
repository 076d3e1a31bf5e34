package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.ConfigLoader;
import io.sagegate.testsupport.GatedStreamBackend;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drain with {@code server.http2} on: streams on one h2c connection, one begun before the drain
 * and one begun during the drain delay (the gateway still serves then), both finish with their
 * final part and are audited as served. HTTP/2 has no {@code Connection} header (RFC 9113 8.2.2: a
 * response carrying one is malformed and the client resets the stream), so the drain's "go
 * elsewhere" hint is for HTTP/1.x only; h2 callers learn it from the GOAWAY the shutdown sends.
 */
class Http2DrainIntegrationTest {

  @TempDir Path dir;
  private Vertx vertx;
  private GatedStreamBackend model;
  private GatewayAssembly assembly;
  private RecordingAuditSink audit;
  private String token;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    model = GatedStreamBackend.start(vertx).await(AWAIT_SECONDS, SECONDS);
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(
        file,
        """
        server: {port: 0, managementPort: 0, http2: true}
        auth: {devIssuer: true}
        endpoints:
          - {name: held, backend: {type: container, url: "%s", timeout: 60s}}
        rules:
          - {id: all, effect: allow, principal: {groups: [g]}}
        """
            .formatted(model.url()));
    audit = new RecordingAuditSink();
    assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.load(file),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                audit,
                dir.resolve("keys"))
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

  private Future<HttpClientResponse> stream(HttpClient client, AtomicReference<Buffer> body) {
    return client
        .request(
            new RequestOptions()
                .setMethod(HttpMethod.POST)
                .setHost("127.0.0.1")
                .setPort(assembly.gateway().port())
                .setURI("/endpoints/held/invocations-response-stream")
                .putHeader("Authorization", "Bearer " + token)
                .putHeader("Content-Type", "application/json"))
        .compose(request -> request.send(Buffer.buffer("{}")))
        .compose(
            response ->
                response
                    .body()
                    .map(
                        b -> {
                          body.set(b);
                          return response;
                        }));
  }

  private static boolean accepts(int port) {
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      return true;
    } catch (java.io.IOException refused) {
      return false;
    }
  }

  @Test
  void h2cStreamsBegunBeforeAndDuringTheDrainDelayFinish() throws Exception {
    Vertx clientVertx = Vertx.vertx();
    HttpClient client =
        clientVertx.createHttpClient(
            new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false),
            new PoolOptions().setHttp2MaxSize(1));
    try {
      AtomicReference<Buffer> firstBody = new AtomicReference<>();
      AtomicReference<Buffer> secondBody = new AtomicReference<>();
      Future<HttpClientResponse> first = stream(client, firstBody);
      model.awaitStarted(1, Duration.ofSeconds(20));

      Future<Gateway.DrainResult> drained =
          assembly.gateway().drain(Duration.ofSeconds(2), Duration.ofSeconds(20));
      // Still served during the delay, on the same connection.
      Future<HttpClientResponse> second = stream(client, secondBody);
      model.awaitStarted(2, Duration.ofSeconds(20));
      // Past the delay: the listener has shut down (GOAWAY sent), the two streams still open.
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (accepts(assembly.gateway().port())) {
        assertTrue(
            System.nanoTime() < end, "the listener still accepts 20 s into a 2 s drain delay");
        TimeUnit.MILLISECONDS.sleep(50);
      }
      assertTrue(
          !first.isComplete() && !second.isComplete(),
          "both streams open after the listener stopped");
      model.release();

      HttpClientResponse a = first.await(20, TimeUnit.SECONDS);
      HttpClientResponse b = second.await(20, TimeUnit.SECONDS);
      assertEquals("HTTP_2", a.version().name());
      assertEquals(a.request().connection(), b.request().connection(), "one connection");
      for (HttpClientResponse r : List.of(a, b)) {
        assertEquals(200, r.statusCode());
        assertNull(r.getHeader("connection"), "no connection-specific header on HTTP/2");
      }
      assertTrue(
          firstBody.get().toString().contains(GatedStreamBackend.FINAL.trim()),
          firstBody.get().toString());
      assertTrue(
          secondBody.get().toString().contains(GatedStreamBackend.FINAL.trim()),
          secondBody.get().toString());

      Gateway.DrainResult result = drained.await(30, TimeUnit.SECONDS);
      assertEquals(0, result.endedAtDeadline());
      for (HttpClientResponse r : List.of(a, b)) {
        String id = r.getHeader("x-amzn-RequestId");
        JsonNode record = audit.await(id);
        assertEquals(1, audit.count(id));
        assertEquals(200, record.path("status").asInt(), record.toString());
        assertTrue(
            record.path("errorReason").isMissingNode() || record.path("errorReason").isNull(),
            record.toString());
      }
    } finally {
      client.close().await(AWAIT_SECONDS, SECONDS);
      clientVertx.close().await(AWAIT_SECONDS, SECONDS);
    }
  }
}
