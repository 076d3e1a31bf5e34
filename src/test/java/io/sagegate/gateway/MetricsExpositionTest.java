package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.ConfigLoader;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code /metrics} exposes after real calls: every {@code sagegate_} metric has help text
 * ({@code promtool check metrics} has nothing to say about them), duration histograms have the
 * documented SLO buckets (at most 20 a series), and {@code sagegate_draining} is there.
 */
class MetricsExpositionTest {

  @TempDir Path dir;

  private static final List<String> SLO_BUCKETS =
      List.of(
          "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0",
          "30.0", "60.0", "120.0", "+Inf");

  @Test
  void everySagegateMetricHasHelpAndBoundedBuckets() throws Exception {
    Vertx vertx = Vertx.vertx();
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(
        file,
        """
        server: {port: 0, managementPort: 0}
        auth: {devIssuer: true}
        endpoints:
          - {name: sentiment-test, backend: {type: demo}}
        rules:
          - {id: scientists, effect: allow, principal: {groups: [data-scientists]}}
        """);
    GatewayAssembly assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.load(file),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                new RecordingAuditSink(),
                dir.resolve("keys"))
            .await(AWAIT_SECONDS, SECONDS);
    String metrics;
    try {
      DevIssuer issuer = DevIssuer.loadOrCreate(dir.resolve("keys"));
      String ok =
          issuer.mint(
              "erin", List.of("data-scientists"), List.of(), null, Duration.ofMinutes(5), Map.of());
      String denied =
          issuer.mint("bob", List.of("analysts"), List.of(), null, Duration.ofMinutes(5), Map.of());
      int port = assembly.gateway().port();
      assertEquals(
          200,
          HttpCalls.send(
                  HttpCalls.post(
                      port, "/endpoints/sentiment-test/invocations", ok, "{\"text\":\"good\"}"))
              .statusCode());
      assertEquals(
          403,
          HttpCalls.send(
                  HttpCalls.post(port, "/endpoints/sentiment-test/invocations", denied, "{}"))
              .statusCode());
      assertEquals(
          401,
          HttpCalls.send(
                  HttpCalls.post(port, "/endpoints/sentiment-test/invocations", "junk", "{}"))
              .statusCode());
      metrics =
          HttpCalls.send(
                  HttpRequest.newBuilder(
                          URI.create(
                              "http://127.0.0.1:"
                                  + assembly.gateway().managementPort()
                                  + "/metrics"))
                      .GET())
              .body();
    } finally {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
      vertx.close().await(AWAIT_SECONDS, SECONDS);
    }

    // Help text for every sagegate metric family.
    Map<String, String> help = new HashMap<>();
    List<String> families = new ArrayList<>();
    for (String line : metrics.lines().toList()) {
      if (line.startsWith("# HELP sagegate_")) {
        String[] parts = line.split(" ", 4);
        help.put(parts[2], parts.length > 3 ? parts[3].trim() : "");
      } else if (line.startsWith("# TYPE sagegate_")) {
        families.add(line.split(" ")[2]);
      }
    }
    assertTrue(families.contains("sagegate_draining"), metrics);
    assertTrue(families.contains("sagegate_audit_sink_healthy"), metrics);
    assertTrue(
        families.contains("sagegate_audit_records_failed_total")
            || families.contains("sagegate_audit_records_failed"),
        metrics);
    for (String family : families) {
      assertFalse(help.getOrDefault(family, "").isEmpty(), "no help text for " + family);
    }

    // The SLO buckets, and no more, for each duration histogram series.
    Pattern bucket =
        Pattern.compile("^(sagegate_\\w+_seconds)_bucket\\{(.*)le=\"([^\"]+)\"(.*)\\} ");
    Map<String, List<String>> series = new HashMap<>();
    for (String line : metrics.lines().toList()) {
      Matcher m = bucket.matcher(line);
      if (m.find()) {
        series
            .computeIfAbsent(
                m.group(1) + "{" + m.group(2) + m.group(4) + "}", k -> new ArrayList<>())
            .add(m.group(3));
      }
    }
    assertTrue(
        series.keySet().stream().anyMatch(k -> k.startsWith("sagegate_request_duration_seconds")),
        metrics);
    assertTrue(
        series.keySet().stream().anyMatch(k -> k.startsWith("sagegate_backend_duration_seconds")),
        metrics);
    series.forEach(
        (name, les) -> {
          assertTrue(les.size() <= 20, name + " has " + les.size() + " buckets");
          assertEquals(SLO_BUCKETS, les, name);
        });

    promtoolFindsNothingAboutSagegate(metrics);
  }

  private void promtoolFindsNothingAboutSagegate(String metrics) throws Exception {
    boolean available;
    try {
      available =
          new ProcessBuilder("promtool", "--version")
              .redirectErrorStream(true)
              .start()
              .waitFor(20, TimeUnit.SECONDS);
    } catch (java.io.IOException e) {
      available = false;
    }
    Assumptions.assumeTrue(available, "promtool is not installed (apt-get install prometheus)");
    Process p =
        new ProcessBuilder("promtool", "check", "metrics").redirectErrorStream(true).start();
    p.getOutputStream().write(metrics.getBytes(StandardCharsets.UTF_8));
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    List<String> aboutUs = out.lines().filter(l -> l.contains("sagegate_")).toList();
    assertEquals(List.of(), aboutUs, out);
  }
}
