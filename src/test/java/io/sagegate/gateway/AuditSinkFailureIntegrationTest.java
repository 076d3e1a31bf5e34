package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.audit.JsonLinesAuditSink;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.AuditSettings;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.GatewayConfig;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.StderrCapture;
import io.vertx.core.Vertx;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An audit sink that cannot write is visible (a counter of records lost, a gauge, a log line,
 * {@code /readyz} 503 with the reason) and, with {@code audit.onFailure: refuse} (the default), new
 * calls are answered 503 rather than served unaudited; {@code continue} keeps serving. Real
 * outputs: a pipe whose reader exits, {@code /dev/full}, and a file under read-only {@code /proc}.
 */
class AuditSinkFailureIntegrationTest {

  @TempDir Path dir;
  private Vertx vertx;
  private GatewayAssembly assembly;
  private JsonLinesAuditSink sink;
  private PrometheusMeterRegistry registry;
  private Process reader;
  private String token;

  @AfterEach
  void stop() throws Exception {
    if (assembly != null) {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
    }
    if (vertx != null) {
      vertx.close().await(AWAIT_SECONDS, SECONDS);
    }
    if (sink != null) {
      sink.close();
    }
    if (reader != null) {
      reader.destroyForcibly();
    }
  }

  private void start(String onFailure, JsonLinesAuditSink auditSink) throws Exception {
    start(onFailure, auditSink, "");
  }

  private void start(String onFailure, JsonLinesAuditSink auditSink, String server)
      throws Exception {
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(
        file,
        """
        server: {port: 0, managementPort: 0%s}
        auth: {devIssuer: true}
        %s
        endpoints:
          - {name: sentiment-test, backend: {type: demo}}
        rules:
          - {id: scientists, effect: allow, principal: {groups: [data-scientists]}}
        """
            .formatted(server, onFailure == null ? "" : "audit: {onFailure: " + onFailure + "}"));
    GatewayConfig config = ConfigLoader.load(file);
    vertx = Vertx.vertx();
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    sink = auditSink;
    DevIssuer issuer = DevIssuer.loadOrCreate(dir.resolve("keys"));
    token =
        issuer.mint(
            "erin", List.of("data-scientists"), List.of(), null, Duration.ofMinutes(5), Map.of());
    assembly =
        GatewayAssembly.start(vertx, config, registry, sink, dir.resolve("keys"))
            .await(AWAIT_SECONDS, SECONDS);
  }

  private HttpResponse<String> call() {
    return HttpCalls.send(
        HttpCalls.post(
            assembly.gateway().port(),
            "/endpoints/sentiment-test/invocations",
            token,
            "{\"text\":\"good\"}"));
  }

  private HttpResponse<String> readyz() {
    return HttpCalls.send(
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + assembly.gateway().managementPort() + "/readyz"))
            .GET());
  }

  /** A real pipe to a process that reads one line and exits, closing the pipe's reading end. */
  private OutputStream pipeClosingAfterOneLine() throws Exception {
    reader =
        new ProcessBuilder("head", "-n", "1")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    return reader.getOutputStream();
  }

  private static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within 20 s: " + what);
      }
      TimeUnit.MILLISECONDS.sleep(10);
    }
  }

  private double failedRecords() {
    return registry.get("sagegate.audit.records.failed").functionCounter().count();
  }

  @Test
  void aClosedPipeRefusesNewCallsByDefault() throws Exception {
    try (StderrCapture err = StderrCapture.start()) {
      start(null, new JsonLinesAuditSink(pipeClosingAfterOneLine()));
      assertEquals(200, call().statusCode(), "served while the sink writes");
      assertTrue(reader.waitFor(20, TimeUnit.SECONDS), "the reader took its line and left");
      // The next record meets the closed pipe; the call it records was served before that was
      // known.
      call();
      await(() -> !sink.healthy(), "the sink notices the closed pipe");

      HttpResponse<String> refused = call();
      assertEquals(503, refused.statusCode(), refused.body());
      assertEquals(
          "ServiceUnavailable", refused.headers().firstValue("x-amzn-ErrorType").orElse(null));
      HttpResponse<String> ready = readyz();
      assertEquals(503, ready.statusCode());
      assertTrue(ready.body().contains("audit sink cannot write records"), ready.body());
      await(() -> failedRecords() >= 2, "lost records counted");
      String metrics = registry.scrape();
      assertTrue(metrics.contains("# HELP sagegate_audit_records_failed_total"), metrics);
      assertTrue(metrics.contains("sagegate_audit_sink_healthy 0.0"), metrics);
      assertTrue(err.text().contains("Audit records cannot be written"), err.text());
    }
  }

  @Test
  void aSlowHeadWhileTheSinkIsRefusingGetsItsOwn408AndTheLostRecordIsCounted() throws Exception {
    start(null, new JsonLinesAuditSink(pipeClosingAfterOneLine()), ", headerTimeout: 300ms");
    assertEquals(200, call().statusCode());
    assertTrue(reader.waitFor(20, TimeUnit.SECONDS), "the reader took its line and left");
    call();
    await(() -> !sink.healthy(), "the sink notices the closed pipe");
    double lostBefore = failedRecords();

    // A slowloris: its head never ends. The header timeout answers it, refusing mode or not: the
    // caller learns why (408, not a 503 for a call that never was), and the connection closes.
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", assembly.gateway().port())) {
      socket.setSoTimeout(20_000);
      socket
          .getOutputStream()
          .write(
              "POST /endpoints/sentiment-test/invocations HTTP/1.1\r\nHost: x\r\n"
                  .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      String answer =
          new String(
              socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
      assertTrue(answer.startsWith("HTTP/1.1 408 "), answer);
      assertTrue(answer.contains("RequestTimeoutException"), answer);
      assertTrue(answer.toLowerCase().contains("x-amzn-requestid: "), answer);
    }
    // Its record met the closed pipe too: counted, and the sink is still not healthy.
    await(() -> failedRecords() >= lostBefore + 1, "the 408's lost record counted");
    assertTrue(!sink.healthy());
    assertEquals(503, readyz().statusCode());
    assertEquals(503, call().statusCode(), "still refusing after the 408");
  }

  @Test
  void aClosedPipeWithContinueKeepsServing() throws Exception {
    start("continue", new JsonLinesAuditSink(pipeClosingAfterOneLine()));
    assertEquals(200, call().statusCode());
    assertTrue(reader.waitFor(20, TimeUnit.SECONDS));
    call();
    await(() -> !sink.healthy(), "the sink notices the closed pipe");
    assertEquals(200, call().statusCode(), "continue: calls are still served");
    assertEquals(503, readyz().statusCode(), "but readiness says the audit sink is failing");
    await(() -> failedRecords() >= 2, "lost records counted");
  }

  @Test
  void aFullDiskRefusesNewCalls() throws Exception {
    start(null, JsonLinesAuditSink.create(new AuditSettings("file", "/dev/full", null)));
    assertEquals(
        200, call().statusCode(), "the first call is served; its record meets the full disk");
    await(() -> !sink.healthy(), "the sink notices the full disk");
    assertEquals(503, call().statusCode());
    assertEquals(503, readyz().statusCode());
    await(() -> failedRecords() >= 2, "lost records counted");
    assertTrue(registry.scrape().contains("sagegate_audit_sink_healthy 0.0"));
  }

  @Test
  void aFileThatCannotBeCreatedStartsUnreadyAndContinueServes() throws Exception {
    // /proc is read-only even for root: the file cannot be created.
    start(
        "continue",
        JsonLinesAuditSink.create(
            new AuditSettings("file", "/proc/sagegate-test/audit.log", null)));
    HttpResponse<String> ready = readyz();
    assertEquals(503, ready.statusCode(), ready.body());
    assertTrue(ready.body().contains("audit sink cannot write records"), ready.body());
    assertEquals(200, call().statusCode(), "continue: served although it cannot be audited");
    await(() -> failedRecords() >= 1, "the lost record counted");
  }
}
