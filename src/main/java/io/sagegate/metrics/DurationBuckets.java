package io.sagegate.metrics;

import io.micrometer.core.instrument.Timer;
import java.time.Duration;

/**
 * The one bounded set of histogram buckets every sagegate duration histogram uses, chosen for SLOs
 * rather than Micrometer's percentile histogram (about 70 buckets a series): 5, 10, 25, 50, 100,
 * 250 and 500 ms; 1, 2.5, 5, 10, 30, 60 and 120 s (14 buckets and +Inf). Short calls are resolved
 * to a few milliseconds, long ones (streams, async) up to two minutes.
 */
public final class DurationBuckets {

  public static final Duration[] SLO = {
    Duration.ofMillis(5),
    Duration.ofMillis(10),
    Duration.ofMillis(25),
    Duration.ofMillis(50),
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofMillis(2500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30),
    Duration.ofSeconds(60),
    Duration.ofSeconds(120)
  };

  private DurationBuckets() {}

  /** The builder with exactly the SLO buckets (and no percentile histogram). */
  public static Timer.Builder apply(Timer.Builder builder) {
    return builder.publishPercentileHistogram(false).serviceLevelObjectives(SLO);
  }
}
