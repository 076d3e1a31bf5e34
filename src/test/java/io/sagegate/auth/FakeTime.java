package io.sagegate.auth;

import com.github.benmanes.caffeine.cache.Ticker;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicLong;

/** A test's time: wall clock and monotonic ticker that move together, only when told to. */
final class FakeTime extends Clock implements Ticker {
  private final Instant start = Instant.now();
  private final AtomicLong offsetNanos = new AtomicLong();

  void advance(Duration d) {
    offsetNanos.addAndGet(d.toNanos());
  }

  @Override
  public long read() {
    return 1_000_000_000_000L + offsetNanos.get();
  }

  @Override
  public Instant instant() {
    return start.plusNanos(offsetNanos.get());
  }

  @Override
  public ZoneId getZone() {
    return ZoneOffset.UTC;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return this;
  }
}
