package io.sagegate.config;

import org.jspecify.annotations.Nullable;

/**
 * Limits of one inference component of an endpoint: its own {@code maxConcurrency} (calls in flight
 * that name it in {@code X-Amzn-SageMaker-Inference-Component}), optionally adaptive.
 */
public record ComponentLimits(@Nullable Integer maxConcurrency, Boolean adaptiveConcurrency) {

  /** An absent {@code adaptiveConcurrency} (null) is false. */
  public ComponentLimits(@Nullable Integer maxConcurrency, @Nullable Boolean adaptiveConcurrency) {
    this.maxConcurrency = maxConcurrency;
    this.adaptiveConcurrency = adaptiveConcurrency == null ? Boolean.FALSE : adaptiveConcurrency;
  }
}
