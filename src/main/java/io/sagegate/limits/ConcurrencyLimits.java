package io.sagegate.limits;

import io.sagegate.config.ComponentLimits;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import java.util.Locale;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The concurrency limiters of this replica, one per endpoint with a {@code maxConcurrency} and one
 * per listed inference component. They outlive configuration snapshots: a reload that keeps an
 * endpoint's cap keeps its limiter and so its count of calls in flight; one that changes the cap
 * starts a new limiter (calls still holding the old one give their permits back to it).
 */
public final class ConcurrencyLimits {

  private final ConcurrentHashMap<String, ConcurrencyLimiter> limiters = new ConcurrentHashMap<>();

  /** The endpoint's limiter, or null when it has no cap. */
  public @Nullable ConcurrencyLimiter endpoint(EndpointConfig endpoint) {
    if (endpoint.maxConcurrency() == null) {
      return null;
    }
    return limiter(
        GatewayConfig.key(endpoint.name()),
        endpoint.maxConcurrency(),
        endpoint.adaptiveConcurrency());
  }

  /** The limiter of {@code component} on the endpoint, or null when it has no cap. */
  public @Nullable ConcurrencyLimiter component(
      EndpointConfig endpoint, @Nullable String component) {
    if (component == null || endpoint.inferenceComponents().isEmpty()) {
      return null;
    }
    ComponentLimits c = endpoint.inferenceComponents().get(component);
    if (c == null || c.maxConcurrency() == null) {
      return null;
    }
    return limiter(
        GatewayConfig.key(endpoint.name()) + "/" + component.toLowerCase(Locale.ROOT),
        c.maxConcurrency(),
        c.adaptiveConcurrency());
  }

  private ConcurrencyLimiter limiter(String key, int max, boolean adaptive) {
    ConcurrencyLimiter current = limiters.get(key);
    if (current != null && current.sameSettings(max, adaptive)) {
      return current;
    }
    return limiters.compute(
        key,
        (k, existing) ->
            existing != null && existing.sameSettings(max, adaptive)
                ? existing
                : ConcurrencyLimiter.of(max, adaptive));
  }
}
