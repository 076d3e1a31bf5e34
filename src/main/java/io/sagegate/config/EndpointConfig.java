package io.sagegate.config;

import java.util.Map;

/**
 * One endpoint the gateway exposes: its SageMaker name (checked against SageMaker's pattern), its
 * tags (matched by rules) and the backend that serves it. {@code maxConcurrency} caps its calls in
 * flight in each replica (none when absent), adapting below that cap when
 * {@code adaptiveConcurrency} is true; {@code inferenceComponents} caps calls per inference
 * component the same way.
 */
public record EndpointConfig(String name, Map<String, String> tags, BackendConfig backend,
    Integer maxConcurrency, Boolean adaptiveConcurrency,
    Map<String, ComponentLimits> inferenceComponents) {

  public EndpointConfig {
    tags = tags == null ? Map.of() : Map.copyOf(tags);
    adaptiveConcurrency = adaptiveConcurrency == null ? Boolean.FALSE : adaptiveConcurrency;
    inferenceComponents = inferenceComponents == null ? Map.of() : Map.copyOf(inferenceComponents);
  }

  /** An endpoint without concurrency limits. */
  public EndpointConfig(String name, Map<String, String> tags, BackendConfig backend) {
    this(name, tags, backend, null, null, null);
  }
}
