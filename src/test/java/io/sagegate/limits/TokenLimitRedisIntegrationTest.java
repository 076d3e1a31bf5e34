package io.sagegate.limits;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.gateway.GatewayAssembly;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.sagegate.testsupport.RedisServer;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A {@code unit: tokens} limit with a real redis-server and the demo model's deterministic {@code
 * usage} on the OpenAI-compatible chat route: each call is checked on its estimate before it is
 * made, then charged its real usage, so the store holds exactly the tokens used and the limit
 * refuses once the charged usage leaves no room for the next estimate.
 */
class TokenLimitRedisIntegrationTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ISSUER = "corp";
  private static final String AUDIENCE = "sagegate";
  private static final String PATH = "/endpoints/chat-demo/openai/v1/chat/completions";
  private static final String CHAT =
      "{\"model\":\"m\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"great product\"}]}";

  private static MockOAuth2Server oidc;
  @TempDir static Path keys;

  private RedisServer redis;
  private Vertx vertx;
  private GatewayAssembly assembly;
  private RecordingAuditSink audit;

  @BeforeAll
  static void startOidc() {
    oidc = new MockOAuth2Server();
    oidc.start();
  }

  @AfterAll
  static void stopOidc() {
    oidc.shutdown();
  }

  @BeforeEach
  void startRedis() throws Exception {
    Assumptions.assumeTrue(RedisServer.available(), RedisServer.MISSING);
    redis = RedisServer.start();
  }

  @AfterEach
  void stop() throws Exception {
    if (assembly != null) {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
    }
    if (vertx != null) {
      vertx.close().await(AWAIT_SECONDS, SECONDS);
    }
    if (redis != null) {
      redis.stop();
    }
  }

  private int start(long burst) throws Exception {
    return start(burst, "open");
  }

  private int start(long burst, String onStoreError) throws Exception {
    String yaml =
        """
        server: {port: 0, managementPort: 0, eventLoops: 1}
        auth: {discoveryUrl: %s, issuer: %s, audiences: [%s]}
        admission:
          store: {url: "%s", timeout: 2s}
        endpoints:
          - name: chat-demo
            backend: {type: demo}
        rules:
          - id: all
            effect: allow
            principal: {groups: [ml]}
            actions: [invoke, invoke-stream]
        limits:
          - id: calls
            rate: 1000
            per: 1s
          - id: tokens-per-caller
            unit: tokens
            rate: %d
            per: 1d
            burst: %d
            dailyQuota: 1000000
            estimate: {bytesPerToken: 4, completionTokens: 256}
            onStoreError: %s
        """
            .formatted(
                oidc.wellKnownUrl(ISSUER),
                oidc.issuerUrl(ISSUER),
                AUDIENCE,
                redis.url(),
                burst,
                burst,
                onStoreError);
    vertx = Vertx.vertx();
    audit = new RecordingAuditSink();
    assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.parse(yaml, "tokens.yaml"),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                audit,
                keys)
            .await(AWAIT_SECONDS, SECONDS);
    return assembly.gateway().port();
  }

  private static String token() {
    return oidc.issueToken(ISSUER, "alice", AUDIENCE, Map.of("groups", List.of("ml")), 3600)
        .serialize();
  }

  /** The tokens charged today under the limit's key (0 when none). */
  private long charged() throws Exception {
    String day = LocalDate.now(ZoneOffset.UTC).toString();
    String answer =
        redis.command(
            "EVAL",
            "return tonumber(redis.call('GET',KEYS[1])) or 0",
            "1",
            "sagegate:{tokens-per-caller|chat-demo|alice}:day:" + day);
    return Long.parseLong(answer.substring(1));
  }

  /** Waits (bounded) until the store holds {@code expected} tokens for the key. */
  private void awaitCharged(long expected) throws Exception {
    long end = System.nanoTime() + 10_000_000_000L;
    long now = charged();
    while (now != expected && System.nanoTime() < end) {
      Thread.onSpinWait();
      now = charged();
    }
    assertEquals(expected, now, "tokens charged in redis");
  }

  @Test
  void theChargeIsTheRealUsageAndTheLimitRefusesOnceTheUsageLeavesNoRoom() throws Exception {
    long burst = 100;
    int port = start(burst);
    String t = token();
    long estimate = (CHAT.getBytes(StandardCharsets.UTF_8).length + 3) / 4 + 10;
    long total = 0;
    int admitted = 0;
    HttpResponse<String> refused = null;
    for (int i = 0; i < 40 && refused == null; i++) {
      HttpResponse<String> r = HttpCalls.send(HttpCalls.post(port, PATH, t, CHAT));
      if (r.statusCode() == 429) {
        refused = r;
        break;
      }
      assertEquals(200, r.statusCode(), r.body());
      assertEquals(
          "\"tokens-per-caller\";q=" + burst + ";w=" + 86400, policyOf(r, "tokens-per-caller"));
      JsonNode usage = JSON.readTree(r.body()).path("usage");
      long used = usage.path("prompt_tokens").asLong() + usage.path("completion_tokens").asLong();
      assertTrue(
          used > 0 && used < estimate, "the demo model reports less than the estimate: " + used);
      JsonNode record = audit.await(r.headers().firstValue("x-amzn-RequestId").orElseThrow());
      assertEquals(
          used, record.path("promptTokens").asLong() + record.path("completionTokens").asLong());
      total += used;
      admitted++;
      // The estimate was charged before the call; after it, exactly the real usage remains.
      awaitCharged(total);
    }
    assertTrue(refused != null, "the token limit never refused");
    // Admitted while the usage charged so far plus the next estimate fit in the burst.
    assertTrue(total + estimate > burst, "refused with room left: " + total + " + " + estimate);
    assertTrue(
        admitted >= 2 && total - total / admitted + estimate <= burst,
        "refused too early: " + admitted + " calls, " + total + " tokens");
    JsonNode error = JSON.readTree(refused.body()).path("error");
    assertEquals("rate_limit_error", error.path("type").asText(), refused.body());
    assertTrue(error.path("message").asText().contains("tokens-per-caller"), refused.body());
    assertTrue(Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow()) >= 1);
    JsonNode record = audit.await(refused.headers().firstValue("x-amzn-RequestId").orElseThrow());
    assertEquals("tokens-per-caller", record.path("limitId").asText());
    assertEquals(
        -1, record.path("promptTokens").asLong(-1), "a refused call never reached the model");
    assertEquals(total, charged(), "a refused call is not charged");
  }

  @Test
  void aStreamIsChargedItsUsageAndABodyRejectedBeforeTheModelIsNotCounted() throws Exception {
    int port = start(10_000);
    String t = token();
    String stream =
        "{\"model\":\"m\",\"stream\":true,\"max_completion_tokens\":500,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"awful slow service\"}]}";
    HttpResponse<String> r = HttpCalls.send(HttpCalls.post(port, PATH, t, stream));
    assertEquals(200, r.statusCode(), r.body());
    JsonNode record = audit.await(r.headers().firstValue("x-amzn-RequestId").orElseThrow());
    long used = record.path("promptTokens").asLong() + record.path("completionTokens").asLong();
    assertTrue(used > 0, record.toString());
    awaitCharged(used);
    // A call the gateway rejects before the limits (invalid JSON) is never counted at all.
    HttpResponse<String> bad = HttpCalls.send(HttpCalls.post(port, PATH, t, "{\"messages\":"));
    assertEquals(400, bad.statusCode(), bad.body());
    assertEquals(used, charged());
  }

  @Test
  void withTheStoreDownALocalTokenLimitChargesTheRealUsageInTheReplica() throws Exception {
    long burst = 100;
    int port = start(burst, "local");
    redis.stop();
    String t = token();
    long estimate = (CHAT.getBytes(StandardCharsets.UTF_8).length + 3) / 4 + 10;
    int admitted = 0;
    int status = 200;
    for (int i = 0; i < 40 && status == 200; i++) {
      HttpResponse<String> r = HttpCalls.send(HttpCalls.post(port, PATH, t, CHAT));
      status = r.statusCode();
      if (status == 200) {
        admitted++;
        audit.await(r.headers().firstValue("x-amzn-RequestId").orElseThrow());
      }
    }
    assertEquals(429, status, "the local share never refused");
    // Charged the estimate alone, the burst would hold 100 / estimate calls; settled against the
    // real usage (a fifth of it), it holds several times more.
    assertTrue(
        admitted > burst / estimate + 1,
        "admitted "
            + admitted
            + " with estimate "
            + estimate
            + ": the usage was not settled in the replica");
  }

  private static String policyOf(HttpResponse<String> r, String id) {
    for (String part : r.headers().firstValue("RateLimit-Policy").orElse("").split(",\\s*")) {
      if (part.startsWith("\"" + id + "\"")) {
        return part;
      }
    }
    return null;
  }
}
