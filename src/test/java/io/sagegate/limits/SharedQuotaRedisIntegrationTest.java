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
import io.sagegate.testsupport.RedisServer;
import io.sagegate.testsupport.SlowModel;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Layer 2 with real parts: three gateway instances (each its own Vert.x, port and metrics) share
 * one real redis-server; the callers hit them in turn, and the limit holds across all three.
 */
class SharedQuotaRedisIntegrationTest {

  private static final String ISSUER = "corp";
  private static final String AUDIENCE = "sagegate";
  private static final int REPLICAS = 3;

  private static MockOAuth2Server oidc;
  private static Vertx modelVertx;
  private static SlowModel model;
  @TempDir static Path keys;

  private RedisServer redis;
  private final List<Vertx> vertxes = new ArrayList<>();
  private final List<GatewayAssembly> gateways = new ArrayList<>();
  private final List<PrometheusMeterRegistry> registries = new ArrayList<>();
  private final List<RecordingAuditSink> audits = new ArrayList<>();

  @BeforeAll
  static void startAll() throws Exception {
    oidc = new MockOAuth2Server();
    oidc.start();
    modelVertx = Vertx.vertx();
    model = SlowModel.start(modelVertx, 1).await(AWAIT_SECONDS, SECONDS);
  }

  @AfterAll
  static void stopAll() throws Exception {
    model.close().await(AWAIT_SECONDS, SECONDS);
    modelVertx.close().await(AWAIT_SECONDS, SECONDS);
    oidc.shutdown();
  }

  @BeforeEach
  void startRedis() throws Exception {
    Assumptions.assumeTrue(RedisServer.available(), RedisServer.MISSING);
    redis = RedisServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    for (GatewayAssembly g : gateways) {
      g.close().await(AWAIT_SECONDS, SECONDS);
    }
    for (Vertx v : vertxes) {
      v.close().await(AWAIT_SECONDS, SECONDS);
    }
    if (redis != null) {
      redis.stop();
    }
  }

  /** Starts three gateways sharing redis, with one limit of {@code rate}/s and {@code burst}. */
  private void startGateways(int rate, int burst, String onStoreError) throws Exception {
    String yaml =
        """
        server: {port: 0, managementPort: 0, eventLoops: 1}
        auth: {discoveryUrl: %s, issuer: %s, audiences: [%s]}
        admission:
          store: {url: "%s", timeout: 1s, replicas: %d}
        endpoints:
          - name: scorer
            backend: {type: container, url: "%s", timeout: 10s}
        rules:
          - id: all
            effect: allow
            principal: {groups: [ml]}
        limits:
          - id: per-caller
            principal: {groups: [ml]}
            resource: {endpoints: [scorer]}
            key: [subject]
            rate: %d
            per: 1s
            burst: %d
            onStoreError: %s
        """
            .formatted(
                oidc.wellKnownUrl(ISSUER),
                oidc.issuerUrl(ISSUER),
                AUDIENCE,
                redis.url(),
                REPLICAS,
                model.url(),
                rate,
                burst,
                onStoreError);
    for (int i = 0; i < REPLICAS; i++) {
      Vertx vertx = Vertx.vertx();
      vertxes.add(vertx);
      PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
      registries.add(registry);
      RecordingAuditSink audit = new RecordingAuditSink();
      audits.add(audit);
      gateways.add(
          GatewayAssembly.start(
                  vertx, ConfigLoader.parse(yaml, "shared.yaml"), registry, audit, keys)
              .await(AWAIT_SECONDS, SECONDS));
    }
  }

  private static String token(String subject) {
    return oidc.issueToken(ISSUER, subject, AUDIENCE, Map.of("groups", List.of("ml")), 3600)
        .serialize();
  }

  private HttpResponse<String> call(int replica, String token) {
    return HttpCalls.send(
        HttpCalls.post(
            gateways.get(replica).gateway().port(),
            "/endpoints/scorer/invocations",
            token,
            "{\"x\":1}"));
  }

  /**
   * Calls the replicas for {@code millis} in rounds of concurrent calls (four per replica at once,
   * so that even a slow machine sends far more than the limit); admitted calls per replica.
   */
  private int[] hammer(String token, long millis, List<HttpResponse<String>> answers)
      throws Exception {
    int[] admitted = new int[REPLICAS];
    long end = System.nanoTime() + millis * 1_000_000;
    do {
      List<java.util.concurrent.CompletableFuture<HttpResponse<String>>> round = new ArrayList<>();
      for (int i = 0; i < REPLICAS * 4; i++) {
        round.add(
            HttpCalls.client()
                .sendAsync(
                    HttpCalls.post(
                            gateways.get(i % REPLICAS).gateway().port(),
                            "/endpoints/scorer/invocations",
                            token,
                            "{\"x\":1}")
                        .build(),
                    HttpResponse.BodyHandlers.ofString()));
      }
      for (int i = 0; i < round.size(); i++) {
        HttpResponse<String> r = round.get(i).get(30, java.util.concurrent.TimeUnit.SECONDS);
        answers.add(r);
        assertTrue(
            r.statusCode() == 200 || r.statusCode() == 429,
            "200 or 429, not " + r.statusCode() + ": " + r.body());
        if (r.statusCode() == 200) {
          admitted[i % REPLICAS]++;
        }
      }
    } while (System.nanoTime() < end);
    return admitted;
  }

  private static int sum(int[] a) {
    int s = 0;
    for (int x : a) {
      s += x;
    }
    return s;
  }

  @Test
  void acrossThreeReplicasTheAdmittedCountStaysWithinTheLimitPlusOneBurst() throws Exception {
    startGateways(2, 5, "open");
    String token = token("alice");
    List<HttpResponse<String>> answers = new ArrayList<>();
    long start = System.nanoTime();
    int[] admitted = hammer(token, 2000, answers);
    double seconds = (System.nanoTime() - start) / 1e9;
    int total = sum(admitted);
    // Shared: at most one burst plus the rate over the window (each replica alone would admit
    // that much by itself, three times as much in all).
    double bound = 5 + 2 * seconds + 1;
    assertTrue(
        total <= bound,
        total
            + " admitted in "
            + seconds
            + " s across replicas, bound "
            + bound
            + answers.stream()
                .map(r -> r.statusCode() + " " + r.headers().firstValue("RateLimit").orElse("-"))
                .toList());
    assertTrue(
        answers.stream().allMatch(r -> r.headers().firstValue("RateLimit").isPresent()),
        "every call was counted in the store (none let through on a store error)");
    assertTrue(
        total >= 5,
        "at least the burst admitted: "
            + total
            + " "
            + answers.stream().map(r -> r.statusCode() + " " + r.body()).limit(12).toList());
    assertTrue(answers.stream().anyMatch(r -> r.statusCode() == 429), "some calls throttled");
    assertTrue(redis.keys() > 0, "counted in redis");

    // Another caller has a count of its own.
    assertEquals(200, call(0, token("bob")).statusCode());

    // The headers, on an admitted answer and on a refusal.
    HttpResponse<String> ok =
        answers.stream().filter(r -> r.statusCode() == 200).findFirst().orElseThrow();
    assertEquals(
        "\"per-caller\";q=5;w=3", ok.headers().firstValue("RateLimit-Policy").orElse(null));
    assertTrue(
        Pattern.matches(
            "\"per-caller\";r=\\d+;t=\\d+", ok.headers().firstValue("RateLimit").orElse("")),
        ok.headers().map().toString());
    assertEquals("5", ok.headers().firstValue("X-RateLimit-Limit").orElse(null));
    assertTrue(ok.headers().firstValue("X-RateLimit-Remaining").isPresent());
    assertTrue(ok.headers().firstValue("X-RateLimit-Reset").isPresent());
    HttpResponse<String> refused =
        answers.stream().filter(r -> r.statusCode() == 429).findFirst().orElseThrow();
    assertEquals(
        "ThrottlingException", refused.headers().firstValue("x-amzn-ErrorType").orElse(null));
    assertTrue(Integer.parseInt(refused.headers().firstValue("Retry-After").orElse("0")) >= 1);
    assertEquals(
        "\"per-caller\";q=5;w=3", refused.headers().firstValue("RateLimit-Policy").orElse(null));
    assertEquals("0", refused.headers().firstValue("X-RateLimit-Remaining").orElse(null));
    assertTrue(refused.body().contains("per-caller"), refused.body());

    // The audit records name the limit; the refusal is counted per limit and endpoint.
    String refusedId = refused.headers().firstValue("x-amzn-RequestId").orElseThrow();
    var record =
        audits.stream()
            .flatMap(a -> a.all().stream())
            .filter(r -> refusedId.equals(r.path("requestId").asText()))
            .findFirst()
            .orElseThrow();
    assertEquals("per-caller", record.path("limitId").asText());
    assertEquals("limit:quota", record.path("errorReason").asText());
    String okId = ok.headers().firstValue("x-amzn-RequestId").orElseThrow();
    var okRecord =
        audits.stream()
            .flatMap(a -> a.all().stream())
            .filter(r -> okId.equals(r.path("requestId").asText()))
            .findFirst()
            .orElseThrow();
    assertEquals("per-caller", okRecord.path("limitId").asText());
    assertTrue(
        registries.stream()
            .anyMatch(
                r ->
                    r.scrape()
                        .contains(
                            "sagegate_limit_refusals_total{endpoint=\"scorer\",limit=\"per-caller\"}")));
  }

  @Test
  void withLocalEachReplicaHoldsItsShareWhileRedisIsDownAndSharingResumesAfter() throws Exception {
    startGateways(6, 6, "local");
    String token = token("carol");
    List<HttpResponse<String>> answers = new ArrayList<>();
    hammer(token, 600, answers);

    redis.stop();
    long start = System.nanoTime();
    int[] admitted = hammer(token, 2000, answers);
    double seconds = (System.nanoTime() - start) / 1e9;
    // Each replica enforces 6/3 = 2 per second with a burst of 2.
    for (int i = 0; i < REPLICAS; i++) {
      double share = 2 + 2 * seconds + 1;
      assertTrue(
          admitted[i] <= share,
          "replica "
              + i
              + " admitted "
              + admitted[i]
              + " in "
              + seconds
              + " s, its share is "
              + share);
    }
    assertTrue(sum(admitted) >= REPLICAS, "each replica admits its share: " + sum(admitted));
    assertTrue(
        registries.stream()
            .anyMatch(
                r ->
                    r.scrape().contains("sagegate_limit_store_errors_total")
                        && !r.scrape().contains("sagegate_limit_store_errors_total 0.0")),
        "store errors counted");

    redis.startAgain();
    // Shared counting resumes by itself: the next calls are counted in redis again.
    long deadline = System.nanoTime() + 15_000_000_000L;
    while (redis.keys() == 0 && System.nanoTime() < deadline) {
      call(0, token);
    }
    assertTrue(redis.keys() > 0, "counting in redis resumed after its restart");
    long startShared = System.nanoTime();
    int total = sum(hammer(token("dave"), 2000, answers));
    double sharedSeconds = (System.nanoTime() - startShared) / 1e9;
    double bound = 6 + 6 * sharedSeconds + 1;
    assertTrue(
        total <= bound, total + " admitted across replicas after the restart, bound " + bound);
  }

  @Test
  void withClosedCallsGet503WithRetryAfterNeverAHang() throws Exception {
    startGateways(100, 100, "closed");
    String token = token("erin");
    assertEquals(200, call(0, token).statusCode());
    redis.stop();
    for (int i = 0; i < 6; i++) {
      long start = System.nanoTime();
      HttpResponse<String> r = call(i % REPLICAS, token);
      long ms = (System.nanoTime() - start) / 1_000_000;
      assertEquals(503, r.statusCode(), r.body());
      assertEquals("ServiceUnavailable", r.headers().firstValue("x-amzn-ErrorType").orElse(null));
      assertTrue(r.headers().firstValue("Retry-After").isPresent());
      assertTrue(ms < 3000, "answered in " + ms + " ms");
    }
  }

  @Test
  void withOpenCallsPassWhileRedisIsDown() throws Exception {
    startGateways(1, 1, "open");
    String token = token("frank");
    redis.stop();
    for (int i = 0; i < 4; i++) {
      assertEquals(200, call(i % REPLICAS, token).statusCode());
    }
  }
}
