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
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Quotas in one gateway without a shared store (counted in the replica), their matching, shadow
 * mode, the daily quota, and live reload.
 */
class QuotaIntegrationTest {

  private static final String ISSUER = "corp";
  private static final String AUDIENCE = "sagegate";

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
    model = SlowModel.start(vertx, 1).await(AWAIT_SECONDS, SECONDS);
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

  private String yaml(String limits) {
    return """
        server: {port: 0, managementPort: 0, eventLoops: 1}
        auth: {discoveryUrl: %s, issuer: %s, audiences: [%s]}
        endpoints:
          - name: scorer
            tags: {team: risk}
            backend: {type: container, url: "%s", timeout: 10s}
          - name: other
            backend: {type: container, url: "%s", timeout: 10s}
        rules:
          - id: all
            effect: allow
            principal: {groups: [ml, analysts]}
        limits:
        %s
        """
        .formatted(
            oidc.wellKnownUrl(ISSUER),
            oidc.issuerUrl(ISSUER),
            AUDIENCE,
            model.url(),
            model.url(),
            limits.indent(2));
  }

  private int startGateway(String limits) throws Exception {
    audit = new RecordingAuditSink();
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    assembly =
        GatewayAssembly.start(
                vertx, ConfigLoader.parse(yaml(limits), "quota.yaml"), registry, audit, keys)
            .await(AWAIT_SECONDS, SECONDS);
    return assembly.gateway().port();
  }

  private static String token(String subject, String group, Map<String, Object> extra) {
    Map<String, Object> claims = new java.util.HashMap<>(extra);
    claims.put("groups", List.of(group));
    return oidc.issueToken(ISSUER, subject, AUDIENCE, claims, 3600).serialize();
  }

  private static HttpResponse<String> call(int port, String endpoint, String token) {
    return HttpCalls.send(
        HttpCalls.post(port, "/endpoints/" + endpoint + "/invocations", token, "{}"));
  }

  @Test
  void aLimitMatchesLikeARuleAndCountsPerKey() throws Exception {
    int port =
        startGateway(
            """
        - id: analysts-per-team
          principal: {groups: [analysts]}
          resource: {tags: {team: [risk]}}
          actions: [invoke]
          key: [team]
          rate: 2
          per: 1m
        """);
    String a1 = token("a1", "analysts", Map.of("team", "blue"));
    String a2 = token("a2", "analysts", Map.of("team", "blue"));
    String a3 = token("a3", "analysts", Map.of("team", "red"));
    HttpResponse<String> first = call(port, "scorer", a1);
    assertEquals(200, first.statusCode(), first.body());
    assertEquals(
        "\"analysts-per-team\";q=2;w=60",
        first.headers().firstValue("RateLimit-Policy").orElse(null));
    assertEquals("1", first.headers().firstValue("X-RateLimit-Remaining").orElse(null));
    assertEquals(200, call(port, "scorer", a2).statusCode(), "the same team shares the count");
    HttpResponse<String> third = call(port, "scorer", a1);
    assertEquals(429, third.statusCode());
    assertTrue(Long.parseLong(third.headers().firstValue("Retry-After").orElseThrow()) >= 20);
    assertEquals(200, call(port, "scorer", a3).statusCode(), "another team has its own count");
    HttpResponse<String> otherEndpoint = call(port, "other", a1);
    assertEquals(200, otherEndpoint.statusCode(), "the limit's resource does not match 'other'");
    assertTrue(
        otherEndpoint.headers().firstValue("RateLimit-Policy").isEmpty(),
        "no headers off a limited route");
    assertEquals(
        200,
        call(port, "scorer", token("m", "ml", Map.of("team", "blue"))).statusCode(),
        "the limit's principal does not match ml");
  }

  @Test
  void aShadowLimitCountsButNeverRefuses() throws Exception {
    int port =
        startGateway(
            """
        - id: shadowed
          rate: 1
          per: 1m
          mode: shadow
        """);
    String t = token("s", "ml", Map.of());
    for (int i = 0; i < 3; i++) {
      assertEquals(200, call(port, "scorer", t).statusCode());
    }
    assertTrue(
        registry
            .scrape()
            .contains(
                "sagegate_limit_shadow_refusals_total{endpoint=\"scorer\",limit=\"shadowed\"} 2.0"),
        registry.scrape());
  }

  @Test
  void theDailyQuotaRefusesUntilTheDayEnds() throws Exception {
    int port =
        startGateway(
            """
        - id: daily
          rate: 100
          dailyQuota: 2
        """);
    String t = token("d", "ml", Map.of());
    HttpResponse<String> first = call(port, "scorer", t);
    assertTrue(
        first
            .headers()
            .firstValue("RateLimit-Policy")
            .orElse("")
            .contains("\"daily-daily\";q=2;w=86400"),
        first.headers().map().toString());
    assertEquals(200, call(port, "scorer", t).statusCode());
    HttpResponse<String> third = call(port, "scorer", t);
    assertEquals(429, third.statusCode());
    assertTrue(third.body().contains("Daily quota"), third.body());
    String id = third.headers().firstValue("x-amzn-RequestId").orElseThrow();
    assertEquals("limit:daily_quota", audit.await(id).path("errorReason").asText());
  }

  @Test
  void limitsReloadLive() throws Exception {
    int port =
        startGateway(
            """
        - id: tight
          rate: 1
          per: 1h
        """);
    String t = token("r", "ml", Map.of());
    assertEquals(200, call(port, "scorer", t).statusCode());
    assertEquals(429, call(port, "scorer", t).statusCode());
    assembly
        .reload(
            ConfigLoader.parse(
                yaml(
                    """
        - id: loose
          rate: 1000
          per: 1s
        """),
                "quota.yaml"))
        .await(AWAIT_SECONDS, SECONDS);
    HttpResponse<String> after = call(port, "scorer", t);
    assertEquals(200, after.statusCode(), after.body());
    assertEquals(
        "\"loose\";q=1000;w=1", after.headers().firstValue("RateLimit-Policy").orElse(null));
  }

  @Test
  void aBurstIsAdmittedAtOnce() throws Exception {
    int port =
        startGateway(
            """
        - id: burst
          rate: 5
          per: 1s
        """);
    String t = token("b", "ml", Map.of());
    StringBuilder seen = new StringBuilder();
    int ok = 0;
    for (int i = 0; i < 5; i++) {
      HttpResponse<String> r = call(port, "scorer", t);
      seen.append(r.statusCode())
          .append(' ')
          .append(r.headers().firstValue("RateLimit").orElse(""))
          .append('\n');
      ok += r.statusCode() == 200 ? 1 : 0;
    }
    assertEquals(5, ok, seen.toString());
  }
}
