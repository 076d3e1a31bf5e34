package io.sagegate.limits;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Admission metrics. Labels are bounded: {@code limit} is a configured limit id or one of {@code
 * maxConcurrency}, {@code maxInFlight}, {@code maxConnections}; {@code endpoint} a configured
 * endpoint name (or {@code unknown}); never the caller.
 */
public final class LimitMetrics {

  public static final String MAX_CONCURRENCY = "maxConcurrency";
  public static final String MAX_IN_FLIGHT = "maxInFlight";
  public static final String MAX_CONNECTIONS = "maxConnections";

  private final MeterRegistry registry;
  private final Counter storeErrors;
  private final Map<String, Counter> refusals = new ConcurrentHashMap<>();
  private final Map<String, Counter> shadowRefusals = new ConcurrentHashMap<>();

  public LimitMetrics(MeterRegistry registry) {
    this.registry = registry;
    // sagegate_limit_store_errors_total
    this.storeErrors =
        Counter.builder("sagegate.limit.store.errors")
            .description(
                "Calls to the shared limit store (Redis) that failed or timed out;"
                    + " each limit then followed its onStoreError")
            .register(registry);
  }

  public void storeError() {
    storeErrors.increment();
  }

  /** {@code sagegate_limit_refusals_total{limit,endpoint}}: calls refused by a limit. */
  public void refused(String limit, String endpoint) {
    refusals
        .computeIfAbsent(
            limit + '\0' + endpoint,
            k ->
                Counter.builder("sagegate.limit.refusals")
                    .description(
                        "Calls refused by a limit (429, or 503 for the gateway-wide caps and a"
                            + " closed limit store), by limit id and endpoint")
                    .tags("limit", limit, "endpoint", endpoint)
                    .register(registry))
        .increment();
  }

  /**
   * {@code sagegate_limit_shadow_refusals_total{limit,endpoint}}: calls a shadow limit let pass.
   */
  public void shadowRefused(String limit, String endpoint) {
    shadowRefusals
        .computeIfAbsent(
            limit + '\0' + endpoint,
            k ->
                Counter.builder("sagegate.limit.shadow.refusals")
                    .description(
                        "Calls a limit in shadow mode would have refused (and let pass), by limit id"
                            + " and endpoint")
                    .tags("limit", limit, "endpoint", endpoint)
                    .register(registry))
        .increment();
  }
}
