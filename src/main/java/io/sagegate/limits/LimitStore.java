package io.sagegate.limits;

import io.vertx.core.Future;

/** Where limits are counted: the shared Redis store, or this replica alone. */
public interface LimitStore {

  /**
   * Charges one call to {@code key} under {@code quota} if the quota admits it.
   *
   * @param secondsToDayEnd seconds until the daily quota's calendar day ends (UTC)
   */
  Future<Verdict> take(Quota quota, String key, long secondsToDayEnd);
}
