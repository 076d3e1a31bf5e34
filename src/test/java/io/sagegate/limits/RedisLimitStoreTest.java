package io.sagegate.limits;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.config.AdmissionSettings;
import io.sagegate.config.LimitConfig;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.RedisServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Lua script and the client against a real redis-server, including one that freezes. */
class RedisLimitStoreTest {

  private RedisServer redis;
  private Vertx vertx;
  private RedisLimitStore store;

  @BeforeEach
  void start() throws Exception {
    Assumptions.assumeTrue(RedisServer.available(), RedisServer.MISSING);
    redis = RedisServer.start();
    vertx = Vertx.vertx();
    store =
        new RedisLimitStore(
            vertx, new AdmissionSettings.Store(redis.url(), null, null, Duration.ofMillis(300), 1));
    // As Quotas does at start: the first call also pays for the connection and the class loading.
    store.warmUp().await(AWAIT_SECONDS, SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    if (redis != null) {
      redis.resume();
      store.close();
      vertx.close().await(AWAIT_SECONDS, SECONDS);
      redis.stop();
    }
  }

  private static Quota quota(long rate, long burst, long daily) {
    return new Quota(
        new LimitConfig(
            "q",
            null,
            null,
            null,
            null,
            null,
            null,
            rate,
            Duration.ofSeconds(1),
            burst,
            daily,
            null,
            null,
            null,
            null));
  }

  @Test
  void theScriptAdmitsABurstThenRefusesWithARetryAfter() throws Exception {
    Quota q = quota(2, 3, 0);
    for (int i = 0; i < 3; i++) {
      Verdict v = store.take(q, "k", 100).await(AWAIT_SECONDS, SECONDS);
      assertTrue(v.admitted(), v.toString());
      assertEquals(2 - i, v.remaining());
    }
    Verdict refused = store.take(q, "k", 100).await(AWAIT_SECONDS, SECONDS);
    assertFalse(refused.admitted());
    assertTrue(
        refused.retryAfterMicros() > 0 && refused.retryAfterMicros() <= 500_000,
        refused.toString());
  }

  @Test
  void theDailyQuotaIsCountedInRedis() throws Exception {
    Quota q = quota(100, 100, 2);
    assertTrue(store.take(q, "d", 100).await(AWAIT_SECONDS, SECONDS).admitted());
    assertEquals(0, store.take(q, "d", 100).await(AWAIT_SECONDS, SECONDS).dayRemaining());
    Verdict third = store.take(q, "d", 100).await(AWAIT_SECONDS, SECONDS);
    assertTrue(third.refusedByDay(), third.toString());
    assertTrue(redis.command("KEYS", "sagegate:{d}:day:*").startsWith("*1"), "one day key");
  }

  @Test
  void theScriptIsSentAgainAfterARestart() throws Exception {
    Quota q = quota(100, 100, 0);
    assertTrue(store.take(q, "r", 100).await(AWAIT_SECONDS, SECONDS).admitted());
    redis.stop();
    redis.startAgain();
    Verdict v = null;
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (v == null && System.nanoTime() < deadline) {
      Future<Verdict> f = store.take(q, "r", 100);
      v = Bounds.join(f.toCompletionStage().toCompletableFuture().handle((ok, err) -> ok));
    }
    assertTrue(
        v != null && v.admitted(), "counted again after the restart (NOSCRIPT answered by EVAL)");
  }

  @Test
  void aFrozenServerTimesOutAndTheClientRecoversWhenItAnswersAgain() throws Exception {
    Quota q = quota(100, 100, 0);
    assertTrue(store.take(q, "f", 100).await(AWAIT_SECONDS, SECONDS).admitted());
    redis.pause();
    long start = System.nanoTime();
    Future<Verdict> frozen = store.take(q, "f", 100);
    Throwable err =
        Bounds.join(frozen.toCompletionStage().toCompletableFuture().handle((ok, e) -> e));
    long ms = (System.nanoTime() - start) / 1_000_000;
    assertTrue(err != null, "a frozen store fails the call");
    assertTrue(ms < 2000, "bounded by the timeout: " + ms + " ms");
    redis.resume();
    Verdict v = null;
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (v == null && System.nanoTime() < deadline) {
      v =
          Bounds.join(
              store
                  .take(q, "f", 100)
                  .toCompletionStage()
                  .toCompletableFuture()
                  .handle((ok, e) -> ok));
    }
    assertTrue(v != null && v.admitted(), "answers again once the server does");
  }
}
