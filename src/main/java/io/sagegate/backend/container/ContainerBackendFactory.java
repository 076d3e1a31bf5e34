package io.sagegate.backend.container;

import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendFactory;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.ContainerUrl;
import io.sagegate.config.EndpointConfig;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Builds {@link ContainerBackend}s: for {@code container} endpoints from {@code backend.url}; for
 * {@code demo} endpoints from the URL of the demo model server the gateway started for that
 * endpoint (given by {@code demoUrls}).
 */
public final class ContainerBackendFactory implements BackendFactory {

  private final Vertx vertx;
  private final @Nullable Function<EndpointConfig, URI> demoUrls;

  /** Serves {@code container} endpoints only. */
  public ContainerBackendFactory(Vertx vertx) {
    this(vertx, null);
  }

  /** Serves {@code container} endpoints, and {@code demo} endpoints at {@code demoUrls}. */
  public ContainerBackendFactory(Vertx vertx, @Nullable Function<EndpointConfig, URI> demoUrls) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.demoUrls = demoUrls;
  }

  @Override
  public Backend create(EndpointConfig endpoint) {
    String type = endpoint.backend().type();
    String prefix = "endpoints[" + endpoint.name() + "].backend";
    if (BackendConfig.CONTAINER.equals(type)) {
      String url = endpoint.backend().url();
      if (url == null || url.isBlank()) {
        throw new IllegalArgumentException(prefix + ".url is required for backend type container");
      }
      try {
        return new ContainerBackend(vertx, endpoint, new URI(url.trim()));
      } catch (URISyntaxException e) {
        throw new IllegalArgumentException(
            prefix + ".url is not a valid URL: " + ContainerUrl.redacted(url), e);
      }
    }
    if (BackendConfig.DEMO.equals(type) && demoUrls != null) {
      URI url = demoUrls.apply(endpoint);
      if (url == null) {
        throw new IllegalArgumentException(
            "no demo model server is running for endpoint " + endpoint.name());
      }
      return new ContainerBackend(vertx, endpoint, url);
    }
    throw new IllegalArgumentException(
        prefix + ".type " + type + " is not served by the container backend factory");
  }
}
