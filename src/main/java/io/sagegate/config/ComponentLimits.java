package io.sagegate.config;

/**
 * Limits of one inference component of an endpoint: its own {@code maxConcurrency} (calls in flight
 * that name it in {@code X-Amzn-SageMaker-Inference-Component}), optionally adaptive.
 */
public record ComponentLimits(Integer maxConcurrency, Boolean adaptiveConcurrency) {

  public ComponentLimits {
    adaptiveConcurrency = adaptiveConcurrency == null ? Boolean.FALSE : adaptiveConcurrency;
  }
}
