package io.sagegate.auth;

import static io.sagegate.auth.TestTokens.await;
import static io.sagegate.auth.TestTokens.awaitFailure;
import static io.sagegate.auth.TestTokens.claims;
import static io.sagegate.auth.TestTokens.newKey;
import static io.sagegate.auth.TestTokens.publicJwks;
import static io.sagegate.auth.TestTokens.rejection;
import static io.sagegate.auth.TestTokens.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.jwk.RSAKey;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.auth.AuthenticationException.Reason;
import io.sagegate.config.AuthSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Key rotation and the refresh rate limit, against a JWKS server the test controls: it counts
 * fetches, can switch its key set, fail, or hold a response until told.
 */
@ExtendWith(VertxExtension.class)
class JwtKeyRotationTest {

  private Vertx vertx;
  private HttpServer http;
  private final AtomicInteger fetches = new AtomicInteger();
  private final Map<Integer, Promise<Void>> fetchArrived = new ConcurrentHashMap<>();
  private volatile String body;
  private volatile int status = 200;
  private volatile Promise<Void> gate;

  private final RSAKey keyA = newKey("key-a");
  private final RSAKey keyB = newKey("key-b");
  private final FakeTime time = new FakeTime();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private JwtAuthenticator auth;

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
    body = publicJwks(keyA);
    http =
        await(
            vertx
                .createHttpServer()
                .requestHandler(
                    req -> {
                      if (!req.path().equals("/jwks")) {
                        req.response().setStatusCode(404).end();
                        return;
                      }
                      int n = fetches.incrementAndGet();
                      String answer = body;
                      int code = status;
                      Promise<Void> held = gate;
                      Future<Void> release =
                          held == null ? Future.succeededFuture() : held.future();
                      arrived(n).tryComplete();
                      release.onComplete(
                          v ->
                              req.response()
                                  .setStatusCode(code)
                                  .putHeader("Content-Type", "application/json")
                                  .end(answer));
                    })
                .listen(0, "127.0.0.1"));
  }

  @AfterEach
  void tearDown() {
    if (auth != null) {
      auth.close();
    }
    await(http.close());
  }

  private Promise<Void> arrived(int fetch) {
    return fetchArrived.computeIfAbsent(fetch, n -> Promise.promise());
  }

  private String jwksUrl() {
    return "http://127.0.0.1:" + http.actualPort() + "/jwks";
  }

  private JwtAuthenticator start(Duration keyRefreshInterval) {
    AuthSettings settings =
        new AuthSettings(
            TestTokens.ISSUER,
            List.of(TestTokens.AUDIENCE),
            null,
            jwksUrl(),
            null,
            false,
            null,
            null,
            0,
            keyRefreshInterval,
            Duration.ofSeconds(30),
            0,
            null);
    auth = await(JwtAuthenticator.start(vertx, settings, registry, null, time, time));
    assertEquals(1, fetches.get());
    return auth;
  }

  private double refreshes(String trigger, String result) {
    return registry
        .get(JwtAuthenticator.REFRESH_METRIC)
        .tag("trigger", trigger)
        .tag("result", result)
        .counter()
        .count();
  }

  private String tokenWithKid(RSAKey key, String kid, String jti) {
    return sign(
        key,
        new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid).build(),
        claims(time.instant()).jwtID(jti).build());
  }

  @Test
  void unknownKidRefreshPicksUpARotatedKey() {
    start(Duration.ofHours(1));
    body = publicJwks(keyA, keyB);
    time.advance(Duration.ofSeconds(31));
    Caller caller = await(auth.authenticate(tokenWithKid(keyB, "key-b", "1")));
    assertEquals("alice", caller.subject());
    assertEquals(2, fetches.get());
    assertEquals(1.0, refreshes("unknown_kid", "ok"));
  }

  @Test
  void floodOfRandomKidsRefreshesAtMostOncePerInterval() {
    start(Duration.ofHours(1));
    time.advance(Duration.ofSeconds(31));
    List<Future<Caller>> flood = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      flood.add(auth.authenticate(tokenWithKid(keyB, "random-" + i, "f" + i)));
    }
    for (Future<Caller> f : flood) {
      assertEquals(Reason.UNKNOWN_KID, rejection(f).reason());
    }
    assertEquals(2, fetches.get(), "one refresh for the whole flood");

    for (int i = 50; i < 100; i++) {
      assertEquals(
          Reason.UNKNOWN_KID,
          rejection(auth.authenticate(tokenWithKid(keyB, "random-" + i, "f" + i))).reason());
    }
    assertEquals(2, fetches.get(), "no refresh again within minKeyRefreshInterval");

    time.advance(Duration.ofSeconds(31));
    assertEquals(
        Reason.UNKNOWN_KID,
        rejection(auth.authenticate(tokenWithKid(keyB, "random-x", "x"))).reason());
    assertEquals(3, fetches.get(), "the next interval allows one more refresh");
    assertEquals(2.0, refreshes("unknown_kid", "ok"));
    // The known key kept working throughout.
    assertEquals("alice", await(auth.authenticate(tokenWithKid(keyA, "key-a", "ok"))).subject());
  }

  @Test
  void concurrentUnknownKidRequestsShareTheInFlightRefresh() {
    start(Duration.ofHours(1));
    body = publicJwks(keyA, keyB);
    gate = Promise.promise();
    time.advance(Duration.ofSeconds(31));
    List<Future<Caller>> waiting = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      waiting.add(auth.authenticate(tokenWithKid(keyB, "key-b", "c" + i)));
    }
    await(arrived(2).future());
    // The JWKS server holds its answer: every request is waiting on the one refresh.
    assertTrue(waiting.stream().noneMatch(Future::isComplete));
    gate.complete();
    for (Future<Caller> f : waiting) {
      assertEquals("alice", await(f).subject());
    }
    assertEquals(2, fetches.get());
  }

  @Test
  void periodicRefreshInstallsNewKeys() {
    start(Duration.ofMillis(20));
    body = publicJwks(keyA, keyB);
    // Fetch 3 starts only after refresh 2 has completed and installed its keys.
    await(arrived(3).future());
    auth.close();
    // The ticker did not move, so an unknown-kid refresh would be rate-limited: key-b must
    // already be known from the periodic refresh.
    assertEquals("alice", await(auth.authenticate(tokenWithKid(keyB, "key-b", "p"))).subject());
    assertTrue(refreshes("periodic", "ok") >= 1.0);
  }

  @Test
  void failedPeriodicRefreshKeepsThePreviousKeys() {
    start(Duration.ofMillis(20));
    status = 500;
    await(arrived(3).future());
    auth.close();
    assertTrue(auth.ready());
    assertTrue(refreshes("periodic", "failed") >= 1.0);
    assertEquals("alice", await(auth.authenticate(tokenWithKid(keyA, "key-a", "k"))).subject());
  }

  @Test
  void withdrawnKeyEvictsTokensItVerified() {
    body = publicJwks(keyA, keyB);
    start(Duration.ofHours(1));
    String signedByB = tokenWithKid(keyB, "key-b", "w");
    assertEquals("alice", await(auth.authenticate(signedByB)).subject());
    assertEquals(1, auth.cachedTokens());

    body = publicJwks(keyA);
    time.advance(Duration.ofSeconds(31));
    assertEquals(
        Reason.UNKNOWN_KID,
        rejection(auth.authenticate(tokenWithKid(keyA, "key-c", "c"))).reason());
    assertEquals(2, fetches.get());
    // key-b is gone: its token is verified again instead of served from the cache.
    assertEquals(Reason.UNKNOWN_KID, rejection(auth.authenticate(signedByB)).reason());
  }

  /**
   * Opened while the JWKS cannot be fetched: not ready, with the reason; retried with growing
   * delays; ready once the JWKS answers, with no restart.
   */
  @Test
  void openedWhileTheJwksFailsIsNotReadyAndRetriesUntilItLoads() throws Exception {
    status = 503;
    AuthSettings settings =
        new AuthSettings(
            TestTokens.ISSUER,
            List.of(TestTokens.AUDIENCE),
            null,
            jwksUrl(),
            null,
            false,
            null,
            null,
            0,
            null,
            null,
            0,
            null);
    auth =
        await(
            JwtAuthenticator.open(
                vertx, settings, registry, null, Duration.ofMillis(20), Duration.ofMillis(100)));
    assertFalse(auth.ready());
    String reason = auth.notReadyReason();
    assertTrue(reason.contains(jwksUrl()) && reason.contains("HTTP 503"), reason);
    // Retried: a third fetch arrives without anyone asking for it.
    await(arrived(3).future());
    assertFalse(auth.ready());
    status = 200;
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!auth.ready()) {
      assertTrue(System.nanoTime() < deadline, "keys load once the JWKS answers");
      Thread.sleep(10); // polling a bounded condition
    }
    assertEquals(null, auth.notReadyReason());
    assertEquals(
        "alice", await(auth.authenticate(tokenWithKid(keyA, "key-a", "after-retry"))).subject());
  }

  @Test
  void jwksNotFoundFailsStartNamingTheUrl() {
    String missing = "http://127.0.0.1:" + http.actualPort() + "/missing";
    AuthSettings settings =
        new AuthSettings(
            TestTokens.ISSUER,
            List.of(TestTokens.AUDIENCE),
            null,
            missing,
            null,
            false,
            null,
            null,
            0,
            null,
            null,
            0,
            null);
    Throwable e = awaitFailure(JwtAuthenticator.start(vertx, settings, registry, null));
    assertTrue(
        e.getMessage().contains(missing) && e.getMessage().contains("HTTP 404"), e.getMessage());
    assertFalse(e.getMessage().isBlank());
  }
}
