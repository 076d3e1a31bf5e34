package io.sagegate.limits;

import io.vertx.core.Future;

/** Where limits are counted: the shared Redis store, or this replica alone. */
public interface LimitStore {

  /**
   * Charges one call to {@code key} under {@code quota} if the quota admits it.
   *
   * @param secondsToDayEnd seconds until the daily quota's calendar day ends (UTC)
   */
  default Future<Verdict> take(Quota quota, String key, long secondsToDayEnd) {
    return take(quota, key, 1, secondsToDayEnd);
  }

  /**
   * Charges {@code cost} units (calls, or a token estimate) to {@code key} under {@code quota} if
   * the quota admits them all; a refused call is not charged.
   */
  Future<Verdict> take(Quota quota, String key, long cost, long secondsToDayEnd);

  /**
   * Charges {@code delta} more units to {@code key} (a credit when negative), unconditionally: the
   * difference between a token estimate and the real usage, once the answer is in. A charge may put
   * the key in debt (later calls wait for it); a credit never fills it past full.
   */
  Future<Void> charge(Quota quota, String key, long delta, long secondsToDayEnd);
}
