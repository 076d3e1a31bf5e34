package io.sagegate.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.config.BackendConfig;
import io.sagegate.config.ComponentLimits;
import io.sagegate.config.EndpointConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ConcurrencyLimiterTest {

  @Test
  void aFixedLimiterAdmitsUpToItsCapAndTakesPermitsBackOnce() {
    ConcurrencyLimiter l = ConcurrencyLimiter.of(2, false);
    ConcurrencyLimiter.Permit a = l.tryAcquire();
    assertNotNull(a);
    assertNotNull(l.tryAcquire());
    assertNull(l.tryAcquire());
    a.release(true);
    a.release(true); // a second release gives nothing back
    assertEquals(1, l.inFlight());
    assertNotNull(l.tryAcquire());
    assertNull(l.tryAcquire());
  }

  @Test
  void anAdaptiveLimiterNeverAdmitsMoreThanMaxConcurrency() {
    ConcurrencyLimiter l = ConcurrencyLimiter.of(4, true);
    assertTrue(l.limit() <= 4);
    List<ConcurrencyLimiter.Permit> held = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      ConcurrencyLimiter.Permit p = l.tryAcquire();
      if (p != null) {
        held.add(p);
      }
    }
    assertTrue(held.size() >= 1 && held.size() <= 4, held.size() + " admitted");
    held.forEach(p -> p.release(true));
    assertEquals(0, l.inFlight());
  }

  @Test
  void limitersOutliveAReloadThatKeepsTheCap() {
    ConcurrencyLimits limits = new ConcurrencyLimits();
    BackendConfig backend = null;
    EndpointConfig before =
        new EndpointConfig(
            "e", Map.of(), backend, 3, false, Map.of("ic", new ComponentLimits(1, false)));
    EndpointConfig same = new EndpointConfig("E", Map.of("t", "v"), backend, 3, false, Map.of());
    EndpointConfig changed = new EndpointConfig("e", Map.of(), backend, 5, false, Map.of());
    assertTrue(limits.endpoint(before) == limits.endpoint(same));
    assertTrue(limits.endpoint(before) != limits.endpoint(changed));
    assertNotNull(limits.component(before, "ic"));
    assertNull(limits.component(before, "other"));
    assertNull(limits.endpoint(new EndpointConfig("free", Map.of(), backend)));
  }
}
