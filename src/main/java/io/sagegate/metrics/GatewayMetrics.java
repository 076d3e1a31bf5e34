package io.sagegate.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.sagegate.audit.AuditRecord;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The gateway's request metrics, with conventional Prometheus names and bounded labels: the
 * endpoint (only configured names, else {@code unknown}), the action, the decision and the status
 * class; never the subject. Recorded from the same end handler that writes the audit record.
 */
public final class GatewayMetrics {

  public static final String UNKNOWN = "unknown";

  private final MeterRegistry registry;
  private final AtomicInteger inFlight = new AtomicInteger();

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    registry.gauge("sagegate.requests.in.flight", inFlight);
  }

  public MeterRegistry registry() {
    return registry;
  }

  public void requestStarted() {
    inFlight.incrementAndGet();
  }

  /** Called once per request, from its end handler. */
  public void requestEnded(AuditRecord r) {
    inFlight.decrementAndGet();
    String endpoint = r.endpoint == null ? UNKNOWN : r.endpoint;
    String action = r.action == null ? UNKNOWN : r.action;
    String decision = r.decision == null ? "none" : r.decision;
    String statusClass = (r.status / 100) + "xx";
    Counter.builder("sagegate.requests")
        .description("Requests handled, by endpoint, action, decision and status class")
        .tags("endpoint", endpoint, "action", action, "decision", decision, "status", statusClass)
        .register(registry)
        .increment();
    Timer.builder("sagegate.request.duration")
        .description("Time from request arrival to the end of the response")
        .tags("endpoint", endpoint, "status", statusClass)
        .publishPercentileHistogram()
        .minimumExpectedValue(Duration.ofMillis(1))
        .maximumExpectedValue(Duration.ofSeconds(120))
        .register(registry)
        .record(Math.max(r.totalNanos, 0), TimeUnit.NANOSECONDS);
    if (r.backendNanos >= 0) {
      Timer.builder("sagegate.backend.duration")
          .description("Time the backend took, from call to end of its answer")
          .tags("endpoint", endpoint)
          .publishPercentileHistogram()
          .minimumExpectedValue(Duration.ofMillis(1))
          .maximumExpectedValue(Duration.ofSeconds(120))
          .register(registry)
          .record(r.backendNanos, TimeUnit.NANOSECONDS);
    }
    bytes("sagegate.request.bytes", endpoint, r.bytesIn);
    bytes("sagegate.response.bytes", endpoint, r.bytesOut);
  }

  private void bytes(String name, String endpoint, long value) {
    DistributionSummary.builder(name)
        .baseUnit("bytes")
        .tags("endpoint", endpoint)
        .register(registry)
        .record(value);
  }

  /** Authentication failures by reason (a fixed set of words). */
  public void authenticationFailed(String reason) {
    registry.counter("sagegate.auth.failures", "reason", reason).increment();
  }
}
