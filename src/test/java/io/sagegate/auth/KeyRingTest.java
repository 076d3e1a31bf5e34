package io.sagegate.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The key ring's retry delays while no keys could be loaded: doubling, capped. */
class KeyRingTest {

  @Test
  void retryDelaysDoubleUpToTheCap() {
    List<Long> seconds = new ArrayList<>();
    Duration d = KeyRing.FIRST_RETRY_DELAY;
    for (int i = 0; i < 8; i++) {
      seconds.add(d.toSeconds());
      d = KeyRing.backoff(d, KeyRing.MAX_RETRY_DELAY);
    }
    assertEquals(List.of(1L, 2L, 4L, 8L, 16L, 30L, 30L, 30L), seconds);
  }
}
