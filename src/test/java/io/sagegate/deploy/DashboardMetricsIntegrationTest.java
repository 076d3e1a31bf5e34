package io.sagegate.deploy;

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
import io.sagegate.config.ConfigWatcher;
import io.sagegate.config.GatewayConfig;
import io.sagegate.gateway.GatewayAssembly;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboard and the alert rules query only what the gateway really exports: a gateway with a
 * demo endpoint and a SageMaker endpoint (against the emulator, so the STS and credentials meters
 * exist), watching its configuration file, serves a few calls; its /metrics is scraped, and every
 * {@code sagegate_} series name in the dashboard's queries and in the rules must be there.
 */
class DashboardMetricsIntegrationTest {

  private static final Pattern METRIC = Pattern.compile("\\bsagegate_[a-z0-9_]+");
  private static final String KEY = "AKIADASHBOARDTEST001";
  private static final String SECRET = "dashboard-secret";

  @TempDir static Path dir;
  private static Vertx vertx;
  private static SageMakerEmulator aws;
  private static GatewayAssembly assembly;
  private static DevIssuer issuer;
  private static String scrape;

  @BeforeAll
  static void start() throws Exception {
    System.setProperty("aws.accessKeyId", KEY);
    System.setProperty("aws.secretAccessKey", SECRET);
    vertx = Vertx.vertx();
    aws = SageMakerEmulator.start(vertx).await(AWAIT_SECONDS, SECONDS);
    aws.addCredentials(KEY, SECRET);
    aws.addRole(
        Role.allowing(
            aws.roleArn("scorer-invoke"),
            KEY,
            "ext-1",
            List.of("sagemaker:InvokeEndpoint"),
            List.of(aws.endpointArn("scorer"))));
    String yaml =
        """
        server: {port: 0, managementPort: 0}
        auth: {devIssuer: true}
        aws: {region: %1$s, accountId: "%2$s", stsEndpoint: %3$s, sagemakerRuntimeEndpoint: %3$s, externalId: ext-1}
        endpoints:
          - name: scorer
            backend: {type: sagemaker, roleArn: "%4$s", timeout: 5s}
          - name: sentiment-test
            backend: {type: demo}
        rules:
          - id: all
            effect: allow
            principal: {groups: [risk]}
        limits:
          - id: bob-once
            principal: {subjects: [bob]}
            rate: 1
            per: 1h
        """
            .formatted(aws.region(), aws.accountId(), aws.uri(), aws.roleArn("scorer-invoke"));
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(file, yaml);
    Path keys = Files.createDirectories(dir.resolve("keys"));
    issuer = DevIssuer.loadOrCreate(keys);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    // JVM meters as `serve` binds them: the dashboard's JVM row reads them.
    new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
    new io.micrometer.core.instrument.binder.jvm.JvmGcMetrics().bindTo(registry);
    GatewayConfig cfg = ConfigLoader.load(file);
    assembly =
        GatewayAssembly.start(vertx, cfg, registry, new RecordingAuditSink(), keys)
            .await(AWAIT_SECONDS, SECONDS);
    ConfigWatcher.startAsync(vertx, file, cfg, assembly::reload, registry, Duration.ofSeconds(1));

    String token =
        issuer.mint("alice", List.of("risk"), List.of(), null, Duration.ofMinutes(5), Map.of());
    int port = assembly.gateway().port();
    aws.endpoint("scorer");
    HttpResponse<String> viaAws =
        HttpCalls.send(HttpCalls.post(port, "/endpoints/scorer/invocations", token, "{}"));
    assertEquals(200, viaAws.statusCode(), viaAws.body());
    assertEquals(
        200,
        HttpCalls.send(
                HttpCalls.post(
                    port, "/endpoints/sentiment-test/invocations", token, "{\"text\":\"good\"}"))
            .statusCode());
    assertEquals(
        401,
        HttpCalls.send(HttpCalls.post(port, "/endpoints/scorer/invocations", null, "{}"))
            .statusCode());
    // A quota refusal, so the limit refusal meter the dashboard's Errors row reads exists.
    String bob =
        issuer.mint("bob", List.of("risk"), List.of(), null, Duration.ofMinutes(5), Map.of());
    assertEquals(
        200,
        HttpCalls.send(
                HttpCalls.post(
                    port, "/endpoints/sentiment-test/invocations", bob, "{\"text\":\"a\"}"))
            .statusCode());
    assertEquals(
        429,
        HttpCalls.send(
                HttpCalls.post(
                    port, "/endpoints/sentiment-test/invocations", bob, "{\"text\":\"a\"}"))
            .statusCode());
    HttpResponse<String> stream =
        HttpCalls.send(
            HttpCalls.post(
                port,
                "/endpoints/sentiment-test/invocations-response-stream",
                token,
                "{\"text\":\"great product\",\"stream\":true}"));
    assertEquals(200, stream.statusCode(), stream.body());
    // The stream has ended for the caller; the gauge follows once the relay has closed (bounded).
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    do {
      scrape = scrapeMetrics();
    } while (!scrape.contains("\nsagegate_streams_open 0.0") && System.nanoTime() < deadline);
    assertTrue(
        scrape.contains("\nsagegate_streams_open 0.0"), "an ended stream still counts as open");
    assertTrue(
        scrape.contains("sagegate_requests_total{action=\"invoke-stream\""),
        "the stream call was not counted");
  }

  private static String scrapeMetrics() throws Exception {
    HttpResponse<String> metrics =
        HttpCalls.client()
            .send(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:" + assembly.gateway().managementPort() + "/metrics"))
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    assertEquals(200, metrics.statusCode());
    return metrics.body();
  }

  @AfterAll
  static void stop() throws Exception {
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    aws.stop().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
  }

  /** Series names in the scrape (comments left out). */
  private static Set<String> exported() {
    Set<String> names = new TreeSet<>();
    scrape
        .lines()
        .filter(l -> !l.startsWith("#") && !l.isBlank())
        .forEach(l -> names.add(l.split("[{ ]", 2)[0]));
    return names;
  }

  private static Set<String> queried(String text) {
    Set<String> names = new TreeSet<>();
    Matcher m = METRIC.matcher(text);
    while (m.find()) {
      names.add(m.group());
    }
    return names;
  }

  private static void assertAllExported(Set<String> queried, String where) {
    Set<String> exported = exported();
    Set<String> missing = new TreeSet<>(queried);
    missing.removeAll(exported);
    assertEquals(
        Set.of(),
        missing,
        where + " queries metrics the gateway does not export; exported: " + exported);
  }

  @Test
  void dashboardQueriesOnlyExportedMetrics() throws Exception {
    JsonNode dash =
        new ObjectMapper()
            .readTree(Path.of("k8s/components/dashboard/sagegate-dashboard.json").toFile());
    StringBuilder exprs = new StringBuilder();
    dash.findValues("expr").forEach(e -> exprs.append(e.asText()).append('\n'));
    dash.path("templating")
        .path("list")
        .forEach(v -> exprs.append(v.path("definition").asText()).append('\n'));
    Set<String> queried = queried(exprs.toString());
    assertTrue(queried.size() > 15, "the dashboard's queries were not found: " + queried);
    assertAllExported(queried, "k8s/components/dashboard/sagegate-dashboard.json");
    // The classes of error and the SLO bucket the panels and alerts name exist as labels too.
    assertTrue(
        scrape.contains("sagegate_request_errors_total{action=\"invoke\",class=\"authentication\""),
        scrape);
    assertTrue(
        scrape.contains(
            "sagegate_request_overhead_seconds_bucket{endpoint=\"scorer\",le=\"0.05\"}"),
        scrape);
  }

  @Test
  void alertRulesQueryOnlyExportedMetrics() throws Exception {
    String rules = Files.readString(Path.of("deploy/prometheus/sagegate.rules.yaml"));
    Set<String> queried =
        queried(
            rules
                .lines()
                .filter(l -> !l.strip().startsWith("#"))
                .reduce("", (a, b) -> a + b + "\n"));
    assertFalse(queried.isEmpty());
    assertAllExported(queried, "deploy/prometheus/sagegate.rules.yaml");
  }
}
