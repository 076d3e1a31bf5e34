package io.sagegate.auth;

import com.github.benmanes.caffeine.cache.Ticker;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagegate.config.AuthSettings;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The issuer's signing keys: loaded from the one configured source ({@link JwksLoader}), refreshed
 * periodically (remote sources) and on an unknown key id (rotation, rate-limited), and retried with
 * capped backoff while none could be loaded yet. A failed refresh keeps the keys already loaded, so
 * an identity provider that goes away at runtime does not stop verified callers.
 *
 * <p>{@link #notReadyReason()} is the readiness contributor: null once keys are loaded, else why
 * not (the last load's failure), for {@code /readyz}.
 */
final class KeyRing {

  static final String REFRESH_METRIC = "sagegate.jwks.refreshes";

  /** First retry after a failed initial load; doubles up to {@link #MAX_RETRY_DELAY}. */
  static final Duration FIRST_RETRY_DELAY = Duration.ofSeconds(1);

  static final Duration MAX_RETRY_DELAY = Duration.ofSeconds(30);

  private static final Logger LOG = LoggerFactory.getLogger(KeyRing.class);

  private final Vertx vertx;
  private final AuthSettings settings;
  private final JwksLoader loader;
  private final Ticker ticker;
  private final Duration firstRetryDelay;
  private final Duration maxRetryDelay;
  private final Runnable onKeysWithdrawn;
  private final AtomicReference<ImmutableJWKSet<SecurityContext>> keys = new AtomicReference<>();
  private final Map<String, Counter> refreshCounters = new HashMap<>();

  private final Object refreshLock = new Object();
  private @Nullable Future<Void> refreshInFlight; // guarded by refreshLock
  private long lastRefreshNanos; // guarded by refreshLock
  private boolean refreshedOnce; // guarded by refreshLock
  private volatile long periodicTimer = -1;
  private volatile long retryTimer = -1;
  private volatile boolean closed;
  private volatile String notReadyReason = "signing keys not loaded yet";

  /**
   * @param onKeysWithdrawn called when a refresh drops a key that was loaded before (tokens it
   *     verified must be verified again)
   */
  KeyRing(
      Vertx vertx,
      AuthSettings settings,
      MeterRegistry registry,
      JwksLoader loader,
      Ticker ticker,
      Duration firstRetryDelay,
      Duration maxRetryDelay,
      Runnable onKeysWithdrawn) {
    this.vertx = vertx;
    this.settings = settings;
    this.loader = loader;
    this.ticker = ticker;
    this.firstRetryDelay = firstRetryDelay;
    this.maxRetryDelay = maxRetryDelay;
    this.onKeysWithdrawn = onKeysWithdrawn;
    for (String trigger : List.of("start", "periodic", "unknown_kid")) {
      for (String result : List.of("ok", "failed")) {
        refreshCounters.put(
            trigger + "/" + result,
            Counter.builder(REFRESH_METRIC)
                .description("JWKS key set loads, by what triggered them and how they ended")
                .tag("trigger", trigger)
                .tag("result", result)
                .register(registry));
      }
    }
  }

  /** The keys as Nimbus's key source: none until the first load succeeds. */
  JWKSource<SecurityContext> source() {
    return (selector, context) -> {
      ImmutableJWKSet<SecurityContext> current = keys.get();
      return current == null ? List.of() : current.get(selector, context);
    };
  }

  boolean loaded() {
    return keys.get() != null;
  }

  /** Null when keys are loaded; otherwise why not, naming the source and its failure. */
  @Nullable String notReadyReason() {
    return loaded() ? null : notReadyReason;
  }

  boolean knows(String kid) {
    ImmutableJWKSet<SecurityContext> current = keys.get();
    return current != null && current.getJWKSet().getKeyByKeyId(kid) != null;
  }

  /** Loads the keys once; fails as that load fails. Periodic refresh starts on success. */
  Future<Void> loadOnce() {
    return refresh("start", true).onSuccess(v -> schedulePeriodicRefresh());
  }

  /**
   * Loads the keys in the background, retrying a failed load with doubling delays (capped) until
   * one succeeds; periodic refresh starts then. Each failure is logged with the next attempt's
   * delay and is the readiness reason meanwhile.
   *
   * @return completes (never fails) once the first attempt has ended, loaded or not, so a gateway
   *     that can reach its identity provider is ready as soon as it listens
   */
  Future<Void> loadInBackground() {
    Promise<Void> first = Promise.promise();
    attempt(firstRetryDelay, first);
    return first.future();
  }

  private void attempt(Duration nextDelay, Promise<Void> first) {
    if (closed) {
      first.tryComplete();
      return;
    }
    refresh("start", true)
        .onComplete(
            ar -> {
              first.tryComplete();
              if (ar.succeeded()) {
                schedulePeriodicRefresh();
                return;
              }
              if (closed) {
                return;
              }
              LOG.warn(
                  "Not ready: could not load the signing keys from {}: {}; retrying in {} ms",
                  loader.describe(),
                  ar.cause().getMessage(),
                  nextDelay.toMillis());
              Duration after = backoff(nextDelay, maxRetryDelay);
              retryTimer =
                  vertx.setTimer(Math.max(1, nextDelay.toMillis()), id -> attempt(after, first));
            });
  }

  /** The delay after {@code delay}: doubled, at most {@code cap}. */
  static Duration backoff(Duration delay, Duration cap) {
    Duration doubled = delay.multipliedBy(2);
    return doubled.compareTo(cap) > 0 ? cap : doubled;
  }

  /**
   * Reloads the key set. Concurrent callers share the one refresh in flight; an unforced refresh
   * (unknown kid) starts at most once per {@code minKeyRefreshInterval} and otherwise completes at
   * once without loading.
   */
  Future<Void> refresh(String trigger, boolean force) {
    Promise<Void> promise;
    synchronized (refreshLock) {
      if (closed) {
        return Future.succeededFuture();
      }
      if (refreshInFlight != null) {
        return refreshInFlight;
      }
      long now = ticker.read();
      if (!force
          && refreshedOnce
          && now - lastRefreshNanos < settings.minKeyRefreshInterval().toNanos()) {
        return Future.succeededFuture();
      }
      refreshedOnce = true;
      lastRefreshNanos = now;
      promise = Promise.promise();
      refreshInFlight = promise.future();
    }
    loader
        .load()
        .onComplete(
            ar -> {
              if (ar.succeeded()) {
                install(ar.result());
                refreshCounter(trigger, "ok").increment();
              } else {
                refreshCounter(trigger, "failed").increment();
                notReadyReason = "signing keys not loaded: " + ar.cause().getMessage();
                if (keys.get() != null && !closed) {
                  LOG.warn(
                      "JWKS refresh ({}) from {} failed; keeping the previous keys: {}",
                      trigger,
                      loader.describe(),
                      ar.cause().getMessage());
                }
              }
              synchronized (refreshLock) {
                refreshInFlight = null;
              }
              promise.handle(ar.mapEmpty());
            });
    return promise.future();
  }

  /** The counter of a trigger and result; every trigger is registered in the constructor. */
  private Counter refreshCounter(String trigger, String result) {
    return Objects.requireNonNull(
        refreshCounters.get(trigger + "/" + result), "no refresh counter for " + trigger);
  }

  private void install(JWKSet fresh) {
    ImmutableJWKSet<SecurityContext> previous = keys.getAndSet(new ImmutableJWKSet<>(fresh));
    Set<String> freshIds = fresh.getKeys().stream().map(JWK::getKeyID).collect(Collectors.toSet());
    if (previous != null) {
      boolean removed =
          previous.getJWKSet().getKeys().stream().anyMatch(k -> !freshIds.contains(k.getKeyID()));
      if (removed) {
        // A key was withdrawn (perhaps compromised): tokens verified with it must verify again.
        onKeysWithdrawn.run();
      }
    }
    LOG.info("Loaded {} signing key(s) from {}", fresh.getKeys().size(), loader.describe());
  }

  private void schedulePeriodicRefresh() {
    if (!loader.periodic() || closed || periodicTimer >= 0) {
      return;
    }
    periodicTimer =
        vertx.setPeriodic(
            settings.keyRefreshInterval().toMillis(), id -> refresh("periodic", true));
  }

  void close() {
    closed = true;
    if (periodicTimer >= 0) {
      vertx.cancelTimer(periodicTimer);
    }
    if (retryTimer >= 0) {
      vertx.cancelTimer(retryTimer);
    }
    loader.close();
  }
}
