package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.config.AwsSettings;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * The credentials cache over time, against the emulator's STS (which counts AssumeRole calls):
 * sessions are refreshed ahead of their end while the old one is still served, and never served
 * within a minute of expiring. Time moves through a test ticker and clock, not by waiting.
 */
class StsCredentialsCacheTest {

  static Vertx vertx;
  static SageMakerEmulator emulator;
  static AwsClients clients;
  static String role;

  /** Shared offset for the cache's ticker and the expiry clock. */
  static final AtomicLong offsetNanos = new AtomicLong();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    emulator = SageMakerBackendEmulatorTest.await(SageMakerEmulator.start(vertx));
    emulator.addCredentials("AKIACACHETEST0000001", "cache-secret");
    role = emulator.roleArn("cache-role");
    emulator.addRole(
        SageMakerEmulator.Role.allowing(
            role, "AKIACACHETEST0000001", null, List.of("sagemaker:InvokeEndpoint"), List.of("*")));
    clients =
        AwsClients.create(
            settings(),
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create("AKIACACHETEST0000001", "cache-secret")));
  }

  @AfterAll
  static void stop() {
    if (clients != null) {
      clients.close();
    }
    if (emulator != null) {
      emulator.close();
    }
    if (vertx != null) {
      Bounds.join(vertx.close().toCompletionStage().toCompletableFuture());
    }
  }

  static AwsSettings settings() {
    return new AwsSettings(
        emulator.region(),
        null,
        emulator.uri().toString(),
        null,
        null,
        Duration.ofHours(1),
        null,
        null,
        false,
        10,
        Duration.ofMinutes(5));
  }

  static final class TestClock extends Clock {
    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.now().plusNanos(offsetNanos.get());
    }
  }

  static Future<ScopedCredentials> get(StsCredentialsProvider p, String endpoint) {
    EndpointConfig ep =
        new EndpointConfig(
            endpoint,
            Map.of(),
            new BackendConfig("sagemaker", null, null, null, 0, null, role, null));
    Caller caller = new Caller("alice", "iss", null, null, null, null, Map.of(), null);
    return p.credentialsFor(
        caller,
        ep,
        Action.INVOKE,
        Decision.allow(
            new RuleConfig("r", RuleConfig.Effect.ALLOW, null, null, null, null, null, null)));
  }

  /** A fresh emulator and a provider whose cache reads the time as now plus {@code offsetNanos}. */
  private StsCredentialsProvider providerOnMovableTime(SimpleMeterRegistry registry) {
    emulator.reset();
    offsetNanos.set(0);
    Ticker ticker = () -> System.nanoTime() + offsetNanos.get();
    return new StsCredentialsProvider(
        vertx, clients.sts(), settings(), clients.region(), registry, ticker, new TestClock());
  }

  @Test
  void refreshesAheadServingTheOldSessionMeanwhileAndNeverServesNearExpiry() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    StsCredentialsProvider p = providerOnMovableTime(registry);

    ScopedCredentials first = SageMakerBackendEmulatorTest.await(get(p, "cache-ep"));
    assertEquals(1, emulator.requests(SageMakerEmulator.ASSUME_ROLE).size());

    // 56 minutes on: past duration - refreshAhead (55 min), before expiry - 1 min (59 min). The
    // refresh's answer is held back, so the old session must be what is served meanwhile (a
    // refresh that already finished may be served at once, which is fine, but not tested here).
    Promise<Void> refreshAnswer = emulator.holdStsAnswers();
    offsetNanos.set(TimeUnit.MINUTES.toNanos(56));
    ScopedCredentials stale = SageMakerBackendEmulatorTest.await(get(p, "cache-ep"));
    assertEquals(
        first.credentials().accessKeyId(),
        stale.credentials().accessKeyId(),
        "old session served while refreshing");
    SageMakerBackendEmulatorTest.await(emulator.awaitRequest(1));
    assertEquals(SageMakerEmulator.ASSUME_ROLE, emulator.requests().get(1).operation());
    refreshAnswer.complete();
    assertEquals(1.0, registry.get("sagegate.credentials.refreshes").counter().count());
  }

  @Test
  void expiredSessionIsNotServed() throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    StsCredentialsProvider p = providerOnMovableTime(registry);
    ScopedCredentials first = SageMakerBackendEmulatorTest.await(get(p, "expiry-ep"));
    // 59.5 minutes on: within a minute of the session's end.
    offsetNanos.set(TimeUnit.SECONDS.toNanos(59 * 60 + 30));
    ScopedCredentials next = SageMakerBackendEmulatorTest.await(get(p, "expiry-ep"));
    assertNotEquals(first.credentials().accessKeyId(), next.credentials().accessKeyId());
    assertEquals(2, emulator.requests(SageMakerEmulator.ASSUME_ROLE).size());
    assertEquals(
        2.0, registry.get("sagegate.credentials.cache").tag("result", "miss").counter().count());
  }

  /**
   * The hit path finds sessions by the request's inputs (role, endpoint, action, subject, tag
   * claims): a changed tag claim is a new session with the new tag, the old inputs hit again,
   * invoke and invoke-stream share a session, and a refused claim value is refused on every
   * request, not remembered as a session.
   */
  @Test
  void sessionsFollowTheInputsAndRefusalsAreNotRemembered() throws Exception {
    emulator.reset();
    offsetNanos.set(0);
    AwsSettings tagged =
        new AwsSettings(
            emulator.region(),
            null,
            emulator.uri().toString(),
            null,
            null,
            Duration.ofHours(1),
            Map.of("team", "team"),
            null,
            false,
            10,
            Duration.ofMinutes(5));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    StsCredentialsProvider p =
        new StsCredentialsProvider(vertx, clients.sts(), tagged, clients.region(), registry);
    EndpointConfig ep =
        new EndpointConfig(
            "inputs-ep",
            Map.of(),
            new BackendConfig("sagemaker", null, null, null, 0, null, role, null));
    Decision allow =
        Decision.allow(
            new RuleConfig("r", RuleConfig.Effect.ALLOW, null, null, null, null, null, null));
    Caller risk = new Caller("alice", "iss", null, null, null, null, Map.of("team", "risk"), null);
    Caller fraud =
        new Caller("alice", "iss", null, null, null, null, Map.of("team", "fraud"), null);
    Caller bad =
        new Caller("alice", "iss", null, null, null, null, Map.of("team", "risk<script>"), null);

    ScopedCredentials a =
        SageMakerBackendEmulatorTest.await(p.credentialsFor(risk, ep, Action.INVOKE, allow));
    ScopedCredentials b =
        SageMakerBackendEmulatorTest.await(p.credentialsFor(fraud, ep, Action.INVOKE, allow));
    ScopedCredentials c =
        SageMakerBackendEmulatorTest.await(p.credentialsFor(risk, ep, Action.INVOKE_STREAM, allow));
    assertNotEquals(a.credentials().accessKeyId(), b.credentials().accessKeyId());
    assertEquals(a.credentials().accessKeyId(), c.credentials().accessKeyId());
    var calls = emulator.requests(SageMakerEmulator.ASSUME_ROLE);
    assertEquals(2, calls.size());
    assertEquals(Map.of("team", "risk"), calls.get(0).sessionTags());
    assertEquals(Map.of("team", "fraud"), calls.get(1).sessionTags());
    for (int i = 0; i < 2; i++) {
      Throwable refused =
          p.credentialsFor(bad, ep, Action.INVOKE, allow)
              .toCompletionStage()
              .toCompletableFuture()
              .handle((v, t) -> t)
              .get(10, TimeUnit.SECONDS);
      assertEquals(403, ((io.sagegate.error.GatewayException) refused).status());
    }
    assertEquals(2, emulator.requests(SageMakerEmulator.ASSUME_ROLE).size());
    assertEquals(
        1.0, registry.get("sagegate.credentials.cache").tag("result", "hit").counter().count());
    assertEquals(
        2.0, registry.get("sagegate.credentials.cache").tag("result", "miss").counter().count());
  }
}
