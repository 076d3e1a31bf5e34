package io.sagegate.config;

import java.util.Map;

/**
 * One endpoint the gateway exposes: its SageMaker name (checked against SageMaker's pattern), its
 * tags (matched by rules) and the backend that serves it.
 */
public record EndpointConfig(String name, Map<String, String> tags, BackendConfig backend) {

  public EndpointConfig {
    tags = tags == null ? Map.of() : Map.copyOf(tags);
  }
}
