package io.sagegate.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.sagegate.audit.AuditRecord;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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
  private final AtomicInteger openStreams = new AtomicInteger();
  private final Map<Labels, RequestMeters> meters = new ConcurrentHashMap<>();
  private final Map<String, Timer> backendTimers = new ConcurrentHashMap<>();
  private final Map<String, Timer> overheadTimers = new ConcurrentHashMap<>();
  private final Map<ErrorLabels, Counter> errors = new ConcurrentHashMap<>();
  private final Map<String, TokenCounters> tokenCounters = new ConcurrentHashMap<>();
  private final Map<String, Counter> authFailures = new ConcurrentHashMap<>();

  public GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    io.micrometer.core.instrument.Gauge.builder(
            "sagegate.requests.in.flight", inFlight, AtomicInteger::get)
        .description("Requests received and not yet answered")
        .register(registry);
    io.micrometer.core.instrument.Gauge.builder(
            "sagegate.streams.open", openStreams, AtomicInteger::get)
        .description(
            "Response streams being relayed to callers now (they count in requests.in.flight too)")
        .register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  public void streamOpened() {
    openStreams.incrementAndGet();
  }

  public void streamClosed() {
    openStreams.decrementAndGet();
  }

  public void requestStarted() {
    inFlight.incrementAndGet();
  }

  private static final String[] STATUS_CLASSES = {"0xx", "1xx", "2xx", "3xx", "4xx", "5xx"};

  /** Called once per request, from its end handler. */
  public void requestEnded(AuditRecord r) {
    inFlight.decrementAndGet();
    String endpoint = r.endpoint() == null ? UNKNOWN : r.endpoint();
    String action = r.action() == null ? UNKNOWN : r.action();
    String decision = r.decision() == null ? "none" : r.decision();
    String statusClass =
        r.status() >= 100 && r.status() < 600
            ? STATUS_CLASSES[r.status() / 100]
            : r.status() / 100 + "xx";
    RequestMeters m =
        meters.computeIfAbsent(new Labels(endpoint, action, decision, statusClass), this::register);
    m.requests.increment();
    m.duration.record(Math.max(r.totalNanos(), 0), TimeUnit.NANOSECONDS);
    if (r.backendNanos() >= 0) {
      // Registered only once a backend was called, as before: no empty backend series.
      backendTimers
          .computeIfAbsent(endpoint, this::backendTimer)
          .record(r.backendNanos(), TimeUnit.NANOSECONDS);
      // The gateway's own share of a call that reached a backend: what the latency SLO measures.
      overheadTimers
          .computeIfAbsent(endpoint, this::overheadTimer)
          .record(Math.max(r.totalNanos() - r.backendNanos(), 0), TimeUnit.NANOSECONDS);
    }
    String errorClass = ErrorClass.of(r);
    if (errorClass != null) {
      errors
          .computeIfAbsent(new ErrorLabels(endpoint, action, errorClass), this::errorCounter)
          .increment();
    }
    m.requestBytes.record(r.bytesIn());
    m.responseBytes.record(r.bytesOut());
    if (r.promptTokens() >= 0 || r.completionTokens() >= 0) {
      tokens(endpoint, r);
    }
  }

  /**
   * {@code sagegate_model_tokens_total{endpoint,type}}: tokens the model reported in OpenAI {@code
   * usage}, type {@code prompt} or {@code completion}; never per caller.
   */
  private void tokens(String endpoint, AuditRecord r) {
    TokenCounters c =
        tokenCounters.computeIfAbsent(
            endpoint,
            e -> new TokenCounters(tokenCounter(e, "prompt"), tokenCounter(e, "completion")));
    if (r.promptTokens() > 0) {
      c.prompt().increment(r.promptTokens());
    }
    if (r.completionTokens() > 0) {
      c.completion().increment(r.completionTokens());
    }
  }

  private record TokenCounters(Counter prompt, Counter completion) {}

  private Counter tokenCounter(String endpoint, String type) {
    return Counter.builder("sagegate.model.tokens")
        .description(
            "Tokens the model reported in OpenAI usage, by endpoint and type (prompt or completion)")
        .tags("endpoint", endpoint, "type", type)
        .register(registry);
  }

  /** One label combination; as bounded as the labels themselves. */
  private record Labels(String endpoint, String action, String decision, String statusClass) {}

  /**
   * The meters one label combination records to, looked up once: building and registering the
   * meters on every request (tag sorting, id hashing, registry map lookups) cost about 3% of the
   * event loop in the bench profile (bench/run.sh, JFR).
   */
  private record RequestMeters(
      Counter requests,
      Timer duration,
      DistributionSummary requestBytes,
      DistributionSummary responseBytes) {}

  private RequestMeters register(Labels l) {
    Counter requests =
        Counter.builder("sagegate.requests")
            .description("Requests handled, by endpoint, action, decision and status class")
            .tags(
                "endpoint",
                l.endpoint(),
                "action",
                l.action(),
                "decision",
                l.decision(),
                "status",
                l.statusClass())
            .register(registry);
    Timer duration =
        DurationBuckets.apply(
                Timer.builder("sagegate.request.duration")
                    .description("Time from request arrival to the end of the response")
                    .tags("endpoint", l.endpoint(), "status", l.statusClass()))
            .register(registry);
    return new RequestMeters(
        requests,
        duration,
        bytes("sagegate.request.bytes", l.endpoint()),
        bytes("sagegate.response.bytes", l.endpoint()));
  }

  private Timer backendTimer(String endpoint) {
    return DurationBuckets.apply(
            Timer.builder("sagegate.backend.duration")
                .description("Time the backend took, from call to end of its answer")
                .tags("endpoint", endpoint))
        .register(registry);
  }

  /**
   * The SLO threshold of the gateway's own latency: a bucket boundary, so alerts can count under
   * it.
   */
  private Timer overheadTimer(String endpoint) {
    // The same bounded SLO buckets as every other duration (the latency SLO's 50 ms among them).
    return DurationBuckets.apply(
            Timer.builder("sagegate.request.overhead")
                .description(
                    "The gateway's own share of a call that reached a backend: total time minus"
                        + " the backend's (authentication, rules, credentials, body and response relay)")
                .tags("endpoint", endpoint))
        .register(registry);
  }

  private record ErrorLabels(String endpoint, String action, String errorClass) {}

  private Counter errorCounter(ErrorLabels l) {
    return Counter.builder("sagegate.request.errors")
        .description(
            "Failed requests by endpoint, action and class of error: authentication,"
                + " authorization, validation, throttling, model_error, backend_5xx, timeout, credentials,"
                + " gateway, client_closed, other (gateway and credentials are what the gateway causes)")
        .tags("endpoint", l.endpoint(), "action", l.action(), "class", l.errorClass())
        .register(registry);
  }

  private DistributionSummary bytes(String name, String endpoint) {
    return DistributionSummary.builder(name)
        .description(
            name.equals("sagegate.request.bytes")
                ? "Bytes of request received from callers, per request"
                : "Bytes of response sent to callers, per request")
        .baseUnit("bytes")
        .tags("endpoint", endpoint)
        .register(registry);
  }

  /**
   * Authentication failures by reason (a fixed set of words). The counter is looked up once per
   * reason, as the request meters are: a flood of bad tokens is when this runs most.
   */
  public void authenticationFailed(String reason) {
    authFailures
        .computeIfAbsent(
            reason,
            r ->
                Counter.builder("sagegate.auth.failures")
                    .description("Requests refused by authentication, by reason")
                    .tag("reason", r)
                    .register(registry))
        .increment();
  }
}
