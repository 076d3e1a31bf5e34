package io.sagegate.backend;

import io.sagegate.config.EndpointConfig;
import java.util.Map;

/** Chooses the backend factory by the endpoint's {@code backend.type}. */
public final class Backends {

  public static BackendFactory byType(Map<String, BackendFactory> factories) {
    Map<String, BackendFactory> copy = Map.copyOf(factories);
    return (EndpointConfig endpoint) -> {
      BackendFactory factory = copy.get(endpoint.backend().type());
      if (factory == null) {
        throw new IllegalArgumentException(
            "endpoints["
                + endpoint.name()
                + "].backend.type: '"
                + endpoint.backend().type()
                + "' is not available here (available: "
                + copy.keySet()
                + ")");
      }
      return factory.create(endpoint);
    };
  }

  private Backends() {}
}
