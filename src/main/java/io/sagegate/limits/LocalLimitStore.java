package io.sagegate.limits;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.vertx.core.Future;
import java.time.Duration;

/**
 * Limits counted in this replica alone, with the same GCRA as the Redis script: when no shared
 * store is configured ({@code divisor} 1), and for limits with {@code onStoreError: local} while
 * the store is unreachable, each replica then admitting its share (rate, burst and daily quota
 * divided by the configured replica count, rounded up, at least 1).
 */
public final class LocalLimitStore implements LimitStore {

  /** One key's state: the theoretical arrival time, and today's count. */
  private static final class State {
    long tat = Long.MIN_VALUE; // System.nanoTime() may be negative
    long day = -1;
    long dayUsed;
  }

  private final int divisor;
  private final Cache<String, State> states =
      Caffeine.newBuilder().expireAfterAccess(Duration.ofHours(25)).maximumSize(1_000_000).build();

  public LocalLimitStore(int divisor) {
    this.divisor = Math.max(1, divisor);
  }

  @Override
  public Future<Verdict> take(Quota quota, String key, long cost, long secondsToDayEnd) {
    return Future.succeededFuture(takeNow(quota, key, cost, secondsToDayEnd));
  }

  @Override
  public Future<Void> charge(Quota quota, String key, long delta, long secondsToDayEnd) {
    chargeNow(quota, key, delta);
    return Future.succeededFuture();
  }

  Verdict takeNow(Quota quota, String key, long secondsToDayEnd) {
    return takeNow(quota, key, 1, secondsToDayEnd);
  }

  /**
   * The largest cost this store can ever admit for {@code quota} (its burst, and its daily quota if
   * smaller, as divided here): a token estimate above it is counted as it, so no call waits for a
   * bucket that can never hold it.
   */
  long maxCost(Quota quota) {
    long burst = Math.max(1, ceilDiv(quota.burst(), divisor));
    long daily =
        quota.dailyQuota() <= 0
            ? Long.MAX_VALUE
            : Math.max(1, ceilDiv(quota.dailyQuota(), divisor));
    return Math.min(burst, daily);
  }

  Verdict takeNow(Quota quota, String key, long cost, long secondsToDayEnd) {
    long interval = quota.intervalMicros() * divisor;
    long burst = Math.max(1, ceilDiv(quota.burst(), divisor));
    long daily = quota.dailyQuota() <= 0 ? 0 : Math.max(1, ceilDiv(quota.dailyQuota(), divisor));
    long window = ceilDiv(burst * interval, 1_000_000);
    long today = Quotas.today();
    State s = states.get(key, k -> new State());
    synchronized (s) {
      long now = System.nanoTime() / 1000;
      if (s.day != today) {
        s.day = today;
        s.dayUsed = 0;
      }
      long tat = Math.max(s.tat, now);
      long newTat = tat + interval * cost;
      long allowAt = newTat - burst * interval;
      if (now < allowAt) {
        return new Verdict(
            false,
            false,
            burst,
            window,
            0,
            allowAt - now,
            tat - now,
            daily,
            daily > 0 ? daily - s.dayUsed : -1);
      }
      if (daily > 0 && s.dayUsed + cost > daily) {
        long remaining = Math.max(0, (now - (tat - burst * interval)) / interval);
        return new Verdict(
            false,
            true,
            burst,
            window,
            remaining,
            secondsToDayEnd * 1_000_000,
            tat - now,
            daily,
            0);
      }
      s.tat = newTat;
      if (daily > 0) {
        s.dayUsed += cost;
      }
      return new Verdict(
          true,
          false,
          burst,
          window,
          (now - allowAt) / interval,
          0,
          newTat - now,
          daily,
          daily > 0 ? daily - s.dayUsed : -1);
    }
  }

  void chargeNow(Quota quota, String key, long delta) {
    long interval = quota.intervalMicros() * divisor;
    long today = Quotas.today();
    State s = states.get(key, k -> new State());
    synchronized (s) {
      long now = System.nanoTime() / 1000;
      s.tat = Math.max(s.tat, now) + delta * interval;
      if (s.day != today) {
        s.day = today;
        s.dayUsed = 0;
      }
      s.dayUsed = Math.max(0, s.dayUsed + delta);
    }
  }

  private static long ceilDiv(long a, long b) {
    return -Math.floorDiv(-a, b);
  }
}
