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
    return new Quota(new LimitConfig("q", null, null, null, null, List.of("subject"), null, rate,
        Duration.ofSeconds(1), burst, daily, null, null));
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
    assertTrue(refused.retryAfterMicros() > 0 && refused.retryAfterMicros() <= 200_000, refused.toString());
    assertTrue(store.takeNow(q, "other", 100).admitted(), "another key has its own bucket");
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
