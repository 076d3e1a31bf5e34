package io.sagegate.gateway;

import io.sagegate.authz.Authorizer;
import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendFactory;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.RuleConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One immutable snapshot of what reloads: the endpoints (by lower-cased name), the rules as an
 * authorizer, and a backend per endpoint. A reload builds a new snapshot, reusing the backends of
 * endpoints whose configuration did not change, and swaps it in; a request keeps the snapshot it
 * started with.
 */
public record GatewayState(
    GatewayConfig config,
    Map<String, EndpointConfig> endpoints,
    Authorizer authorizer,
    Map<String, Backend> backends) {

  public EndpointConfig endpoint(String name) {
    return endpoints.get(GatewayConfig.key(name));
  }

  public Backend backend(EndpointConfig endpoint) {
    return backends.get(GatewayConfig.key(endpoint.name()));
  }

  /**
   * Builds the next snapshot. If an endpoint's backend (or the rules) cannot be built, the backends
   * already built for this snapshot are closed before the failure is thrown, so a refused reload or
   * start leaves no client or connection pool behind; the backends reused from {@code previous} are
   * left alone (they keep serving).
   *
   * @param previous the snapshot being replaced, or null at start
   * @throws RuntimeException from the backend factory or the authorizer, after the cleanup
   */
  public static GatewayState build(
      GatewayConfig config,
      Function<List<RuleConfig>, Authorizer> authorizers,
      BackendFactory backendFactory,
      GatewayState previous) {
    Map<String, Backend> backends = new HashMap<>();
    List<Backend> built = new ArrayList<>();
    try {
      for (EndpointConfig endpoint : config.endpoints()) {
        String key = GatewayConfig.key(endpoint.name());
        EndpointConfig before = previous == null ? null : previous.endpoints.get(key);
        Backend backend;
        if (endpoint.equals(before)) {
          backend = previous.backends.get(key);
        } else {
          backend = backendFactory.create(endpoint);
          built.add(backend);
        }
        backends.put(key, backend);
      }
      return new GatewayState(
          config, config.endpointsByKey(), authorizers.apply(config.rules()), Map.copyOf(backends));
    } catch (RuntimeException | Error e) {
      for (Backend b : built) {
        try {
          b.close();
        } catch (RuntimeException closeFailed) {
          e.addSuppressed(closeFailed);
        }
      }
      throw e;
    }
  }

  /** Backends of the previous snapshot that this one no longer uses. */
  public List<Backend> retiredSince(GatewayState previous) {
    return previous.backends.values().stream().filter(b -> !backends.containsValue(b)).toList();
  }
}
