package io.sagegate.backend;

import io.sagegate.config.EndpointConfig;

/** Builds the backend for an endpoint from its configuration (by {@code backend.type}). */
@FunctionalInterface
public interface BackendFactory {

  /**
   * @throws IllegalArgumentException when this factory does not serve the endpoint's backend type
   */
  Backend create(EndpointConfig endpoint);
}
