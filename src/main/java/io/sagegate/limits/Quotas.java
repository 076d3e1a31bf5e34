package io.sagegate.limits;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sagegate.auth.Caller;
import io.sagegate.config.AdmissionSettings;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.LimitConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Layer 2 of admission control: shared quotas. Counts each call against every limit that applies,
 * in the shared store (Redis) when one is configured, else in this replica. Keys known to be over
 * their limit are remembered here until their reset, so a caller hammering past its limit costs no
 * store call. When the store fails, each limit follows its {@code onStoreError}; after a failure
 * the store is left alone for a second (every call would otherwise wait on a dead server), then
 * tried again, so shared counting resumes by itself once the store is back.
 */
public final class Quotas {

  private static final Logger LOG = LoggerFactory.getLogger(Quotas.class);

  /** How long the store is left alone after it failed. */
  static final long RETRY_STORE_AFTER_NANOS = Duration.ofSeconds(1).toNanos();

  /** How one limit came out for a call. */
  public enum Kind {
    COUNTED,
    STORE_OPEN,
    STORE_CLOSED
  }

  /**
   * One limit's outcome: its verdict (null when the store failed and no count was made), the key
   * counted, the units charged ({@code cost}: 1 for a call, the estimate for tokens) and whether
   * they were charged in this replica ({@code local}) rather than in the shared store.
   */
  public record Outcome(
      Quota quota, Kind kind, @Nullable Verdict verdict, boolean local, String key, long cost) {
    public boolean refuses() {
      return kind == Kind.STORE_CLOSED || (verdict != null && !verdict.admitted());
    }

    /** Whether units were charged for this call (so a token estimate is to be settled). */
    public boolean charged() {
      return kind == Kind.COUNTED && verdict != null && verdict.admitted();
    }
  }

  private final @Nullable RedisLimitStore redis;
  private final LocalLimitStore alone = new LocalLimitStore(1);
  private final LocalLimitStore share;
  private final LimitMetrics metrics;
  private final Cache<String, Long> over =
      Caffeine.newBuilder().expireAfterWrite(Duration.ofHours(25)).maximumSize(100_000).build();
  private volatile long storeDownUntil;
  private final AtomicBoolean storeDown = new AtomicBoolean();
  private volatile CompiledLimits compiled = CompiledLimits.NONE;

  public Quotas(Vertx vertx, AdmissionSettings settings, LimitMetrics metrics) {
    this.redis =
        settings.store().configured() ? new RedisLimitStore(vertx, settings.store()) : null;
    this.share = new LocalLimitStore(settings.store().replicas());
    this.metrics = metrics;
    if (redis != null) {
      redis
          .warmUp()
          .onFailure(
              err ->
                  LOG.warn(
                      "Limit store not reachable at start ({}); calls will"
                          + " try it again and follow their onStoreError meanwhile",
                      err.toString()));
    }
  }

  /** The compiled form of {@code limits}, rebuilt when a reload changed them. */
  public CompiledLimits compiled(List<LimitConfig> limits) {
    CompiledLimits c = compiled;
    if (c.configs() == limits || (limits.isEmpty() && c.isEmpty())) {
      return c;
    }
    c = new CompiledLimits(limits);
    compiled = c;
    return c;
  }

  /** Counts one call against each of {@code quotas}; never fails (store failures are outcomes). */
  public Future<List<Outcome>> check(List<Quota> quotas, Caller caller, EndpointConfig endpoint) {
    return check(quotas, caller, endpoint, -1, -1);
  }

  /**
   * Counts one call against each of {@code quotas}, a {@code tokens} limit by its estimate from
   * {@code bodyBytes} and {@code maxTokens} (see {@link Quota#estimate}); never fails.
   */
  public Future<List<Outcome>> check(
      List<Quota> quotas, Caller caller, EndpointConfig endpoint, long bodyBytes, long maxTokens) {
    long toDayEnd = secondsToDayEnd();
    if (quotas.size() == 1) {
      return checkOne(quotas.get(0), caller, endpoint, toDayEnd, bodyBytes, maxTokens)
          .map(List::of);
    }
    List<Future<Outcome>> all = new ArrayList<>(quotas.size());
    for (Quota q : quotas) {
      all.add(checkOne(q, caller, endpoint, toDayEnd, bodyBytes, maxTokens));
    }
    return Future.all(all)
        .map(
            cf -> {
              List<Outcome> out = new ArrayList<>(all.size());
              for (Future<Outcome> f : all) {
                out.add(f.result());
              }
              return out;
            });
  }

  private Future<Outcome> checkOne(
      Quota q,
      Caller caller,
      EndpointConfig endpoint,
      long toDayEnd,
      long bodyBytes,
      long maxTokens) {
    String key = q.key(caller, endpoint);
    long now = System.nanoTime();
    long estimate = q.countsTokens() ? q.estimate(bodyBytes, maxTokens) : 1;
    // A token refusal holds for its cost only (a smaller call may fit), so it is not remembered.
    Long until = q.shadow() || q.countsTokens() ? null : over.getIfPresent(key);
    if (until != null) {
      if (now - until < 0) {
        // Known to be over until its reset: refused here, no store call.
        long retry = (until - now) / 1000;
        return Future.succeededFuture(
            new Outcome(
                q,
                Kind.COUNTED,
                new Verdict(false, false, q.burst(), 0, 0, retry, retry, q.dailyQuota(), -1),
                false,
                key,
                0));
      }
      over.invalidate(key);
    }
    if (redis == null) {
      long cost = Math.min(estimate, alone.maxCost(q));
      return Future.succeededFuture(
          counted(q, key, alone.takeNow(q, key, cost, toDayEnd), toDayEnd, now, false, cost));
    }
    if (storeDown.get() && now - storeDownUntil < 0) {
      return Future.succeededFuture(fallback(q, key, toDayEnd, estimate));
    }
    long cost = Math.min(estimate, RedisLimitStore.maxCost(q));
    return redis
        .take(q, key, cost, toDayEnd)
        .transform(
            ar -> {
              if (ar.succeeded()) {
                storeUp();
                return Future.succeededFuture(
                    counted(q, key, ar.result(), toDayEnd, System.nanoTime(), false, cost));
              }
              storeFailed(ar.cause());
              return Future.succeededFuture(fallback(q, key, toDayEnd, estimate));
            });
  }

  private Outcome counted(
      Quota q, String key, Verdict v, long toDayEnd, long now, boolean local, long cost) {
    if (v.refusedByDay()) {
      v =
          new Verdict(
              false,
              true,
              v.limit(),
              v.windowSeconds(),
              v.remaining(),
              toDayEnd * 1_000_000,
              v.resetMicros(),
              v.dailyQuota(),
              0);
    }
    if (!v.admitted() && !q.shadow() && !local && !q.countsTokens()) {
      over.put(key, now + v.retryAfterMicros() * 1000);
    }
    return new Outcome(q, Kind.COUNTED, v, local, key, cost);
  }

  private Outcome fallback(Quota q, String key, long toDayEnd, long estimate) {
    return switch (q.config().onStoreError()) {
      case OPEN -> new Outcome(q, Kind.STORE_OPEN, null, false, key, 0);
      case CLOSED -> new Outcome(q, Kind.STORE_CLOSED, null, false, key, 0);
      case LOCAL -> {
        long cost = Math.min(estimate, share.maxCost(q));
        yield counted(
            q, key, share.takeNow(q, key, cost, toDayEnd), toDayEnd, System.nanoTime(), true, cost);
      }
    };
  }

  /**
   * Settles a {@code tokens} limit's estimate against the tokens the call really used: charges the
   * difference (a credit when the estimate was too high) where the estimate was charged (the shared
   * store, or this replica for a {@code local} limit while the store was down). A failed store call
   * counts as a store error; the difference is then lost.
   */
  public void settle(Outcome o, long used) {
    long delta = used - o.cost();
    if (!o.charged() || !o.quota().countsTokens() || delta == 0) {
      return;
    }
    long toDayEnd = secondsToDayEnd();
    if (o.local()) {
      share.chargeNow(o.quota(), o.key(), delta);
    } else if (redis == null) {
      alone.chargeNow(o.quota(), o.key(), delta);
    } else {
      redis
          .charge(o.quota(), o.key(), delta, toDayEnd)
          .onComplete(
              ar -> {
                if (ar.succeeded()) {
                  storeUp();
                } else {
                  storeFailed(ar.cause());
                }
              });
    }
  }

  private void storeFailed(Throwable cause) {
    metrics.storeError();
    storeDownUntil = System.nanoTime() + RETRY_STORE_AFTER_NANOS;
    if (storeDown.compareAndSet(false, true)) {
      LOG.warn(
          "Limit store unreachable ({}): each limit follows its onStoreError (open allows,"
              + " closed answers 503, local counts in this replica) until it answers again",
          cause.toString());
    }
  }

  private void storeUp() {
    if (storeDown.compareAndSet(true, false)) {
      LOG.info("Limit store reachable again: limits are shared across replicas again");
    }
  }

  static long secondsToDayEnd() {
    // Whole seconds left in the UTC day, from the epoch millis: no date objects on every limited
    // call (and again for its headers). A UTC day is always 86,400 s to java.time.
    long millisLeft = DAY_MILLIS - Math.floorMod(System.currentTimeMillis(), DAY_MILLIS);
    return Math.max(1, millisLeft / 1_000);
  }

  /** Today's UTC day, counted from the epoch (LocalDate's epoch day), without date objects. */
  static long today() {
    return Math.floorDiv(System.currentTimeMillis(), DAY_MILLIS);
  }

  private static final long DAY_MILLIS = Duration.ofDays(1).toMillis();

  public void close() {
    if (redis != null) {
      redis.close();
    }
  }
}
