package io.sagegate.limits;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A gateway-wide cap, shared by every event loop: open traffic connections or calls in flight.
 * Taking a place past the cap fails at once, so an overload is refused rather than queued.
 */
public final class InFlightCap {

  private final int max;
  private final AtomicInteger used = new AtomicInteger();

  /**
   * @param max the cap; 0 for none
   */
  public InFlightCap(int max) {
    this.max = max;
  }

  /** Takes a place; false (and nothing taken) when the cap is reached. */
  public boolean tryTake() {
    if (max <= 0) {
      used.incrementAndGet();
      return true;
    }
    while (true) {
      int now = used.get();
      if (now >= max) {
        return false;
      }
      if (used.compareAndSet(now, now + 1)) {
        return true;
      }
    }
  }

  public void release() {
    used.decrementAndGet();
  }

  public int max() {
    return max;
  }

  public int used() {
    return used.get();
  }
}
