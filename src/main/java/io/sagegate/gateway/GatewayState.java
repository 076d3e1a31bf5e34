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
import org.jspecify.annotations.Nullable;

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

  /** The endpoint configured under {@code name}, or null when none is. */
  public @Nullable EndpointConfig endpoint(String name) {
    return endpoints.get(GatewayConfig.key(name));
  }

  /** The backend of {@code endpoint}, one of this snapshot's endpoints (each has its backend). */
  public Backend backend(EndpointConfig endpoint) {
    Backend backend = backends.get(GatewayConfig.key(endpoint.name()));
    if (backend == null) {
      throw new IllegalStateException(
          "endpoint " + endpoint.name() + " has no backend in this configuration snapshot");
    }
    return backend;
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
      @Nullable GatewayState previous) {
    Map<String, Backend> backends = new HashMap<>();
    List<Backend> built = new ArrayList<>();
    try {
      for (EndpointConfig endpoint : config.endpoints()) {
        String key = GatewayConfig.key(endpoint.name());
        Backend backend;
        if (previous != null && endpoint.equals(previous.endpoints.get(key))) {
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
