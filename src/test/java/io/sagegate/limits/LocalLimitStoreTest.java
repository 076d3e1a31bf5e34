package io.sagegate.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.config.LimitConfig;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class LocalLimitStoreTest {

  private static Quota quota(long rate, long burst, long daily) {
    return new Quota(
        new LimitConfig(
            "q",
            null,
            null,
            null,
            null,
            List.of("subject"),
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
  void aBurstIsAdmittedAtOnceThenTheRateHolds() {
    LocalLimitStore store = new LocalLimitStore(1);
    Quota q = quota(5, 5, 0);
    for (int i = 0; i < 5; i++) {
      Verdict v = store.takeNow(q, "k", 100);
      assertTrue(v.admitted(), "call " + i + ": " + v);
      assertEquals(4 - i, v.remaining(), "remaining after call " + i + ": " + v);
    }
    Verdict refused = store.takeNow(q, "k", 100);
    assertFalse(refused.admitted());
    assertTrue(
        refused.retryAfterMicros() > 0 && refused.retryAfterMicros() <= 200_000,
        refused.toString());
    assertTrue(store.takeNow(q, "other", 100).admitted(), "another key has its own bucket");
  }

  @Test
  void aCostIsChargedWholeAndASettledDifferenceMovesTheBucket() {
    // 1000 tokens per second is too fast to refill measurably here: rate 10 per 1 s, burst 100.
    LocalLimitStore store = new LocalLimitStore(1);
    Quota q = quota(10, 100, 1000);
    assertTrue(store.takeNow(q, "k", 60, 100).admitted(), "an estimate of 60 fits in 100");
    assertFalse(store.takeNow(q, "k", 60, 100).admitted(), "a second estimate of 60 does not");
    store.chargeNow(q, "k", -50); // the call used 10 tokens: 50 credited
    Verdict v = store.takeNow(q, "k", 60, 100);
    assertTrue(v.admitted(), "after the credit, 10 + 60 fit: " + v);
    assertEquals(1000 - 70, v.dayRemaining(), "the day counts what was charged: " + v);
    store.chargeNow(
        q, "k", 100); // a call that used far more than its estimate puts the key in debt
    assertFalse(store.takeNow(q, "k", 1, 100).admitted(), "in debt, not even one token fits");
    assertEquals(60, store.maxCost(quota(10, 60, 0)), "an estimate is capped at the burst");
    assertEquals(40, store.maxCost(quota(10, 60, 40)), "or at the daily quota if smaller");
  }

  @Test
  void aDividedShareAdmitsItsPart() {
    LocalLimitStore store = new LocalLimitStore(3);
    Quota q = quota(6, 6, 0);
    assertTrue(store.takeNow(q, "k", 100).admitted());
    assertTrue(store.takeNow(q, "k", 100).admitted());
    assertFalse(store.takeNow(q, "k", 100).admitted(), "burst 6 / 3 replicas = 2");
  }

  @Test
  void theDailyQuotaRefusesOnceSpent() {
    LocalLimitStore store = new LocalLimitStore(1);
    Quota q = quota(100, 100, 2);
    assertTrue(store.takeNow(q, "k", 100).admitted());
    Verdict second = store.takeNow(q, "k", 100);
    assertTrue(second.admitted());
    assertEquals(0, second.dayRemaining());
    Verdict third = store.takeNow(q, "k", 100);
    assertFalse(third.admitted());
    assertTrue(third.refusedByDay());
  }
}
