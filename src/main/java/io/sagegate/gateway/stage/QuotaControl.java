package io.sagegate.gateway.stage;

import io.sagegate.authz.AccessRequest;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.sagegate.limits.CompiledLimits;
import io.sagegate.limits.LimitErrors;
import io.sagegate.limits.LimitMetrics;
import io.sagegate.limits.Quota;
import io.sagegate.limits.Quotas;
import io.sagegate.limits.RateLimitHeaders;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Layer 2 of admission control: the shared quotas ({@code limits}) that apply to the caller and
 * endpoint, counted in the shared store in one round trip. Writes the rate-limit headers on the
 * response (so every answer of a limited route has them, refusals and streams included), then
 * refuses with 429 ThrottlingException and {@code Retry-After} if an enforced limit is over, or
 * 503 if a {@code closed} limit's store is unreachable. A shadow limit that is over is counted
 * and logged, never refused. The audit record names the limit that refused, or the limits that
 * applied.
 */
public final class QuotaControl implements Stage {

  private static final Logger LOG = LoggerFactory.getLogger(QuotaControl.class);
  /** One shadow-refusal log line per limit at most this often. */
  private static final long SHADOW_LOG_EVERY_NANOS = 10_000_000_000L;

  private final Quotas quotas;
  private final LimitMetrics metrics;
  private final ConcurrentHashMap<String, Long> shadowLogged = new ConcurrentHashMap<>();

  public QuotaControl(Quotas quotas, LimitMetrics metrics) {
    this.quotas = quotas;
    this.metrics = metrics;
  }

  @Override
  public void handle(Exchange ex) {
    CompiledLimits limits = quotas.compiled(ex.state().config().limits());
    if (limits.isEmpty()) {
      ex.next();
      return;
    }
    InvocationHeaders h = ex.headers();
    List<Quota> applying = limits.matching(new AccessRequest(ex.caller(), ex.endpoint(), ex.action(),
        ex.audit().sourceIp, h == null ? null : h.targetVariant(), h == null ? null : h.targetModel(),
        h == null ? null : h.inferenceComponent()));
    if (applying.isEmpty()) {
      ex.next();
      return;
    }
    ex.holdBody();
    quotas.check(applying, ex.caller(), ex.endpoint())
        .onComplete(ar -> ex.onLoop(() -> {
          if (ar.failed()) {
            ex.fail(ar.cause());
          } else {
            decide(ex, ar.result());
          }
        }));
  }

  private void decide(Exchange ex, List<Quotas.Outcome> outcomes) {
    RateLimitHeaders.write(ex.response(), outcomes);
    String endpoint = ex.endpoint().name();
    Quotas.Outcome refusing = null;
    Quotas.Outcome closed = null;
    long retryMicros = 0;
    StringBuilder applied = new StringBuilder();
    for (Quotas.Outcome o : outcomes) {
      applied.append(applied.length() == 0 ? "" : ",").append(o.quota().id());
      if (!o.refuses()) {
        continue;
      }
      if (o.kind() == Quotas.Kind.STORE_CLOSED) {
        closed = closed == null ? o : closed;
      } else if (o.quota().shadow()) {
        shadow(ex, o, endpoint);
      } else {
        if (refusing == null) {
          refusing = o;
        }
        retryMicros = Math.max(retryMicros, o.verdict().retryAfterMicros());
      }
    }
    if (refusing != null) {
      String id = refusing.quota().id();
      ex.audit().limitId = id;
      metrics.refused(id, endpoint);
      boolean day = refusing.verdict().refusedByDay();
      ex.fail(LimitErrors.throttled((day ? "Daily quota" : "Rate limit") + " '" + id
              + "' exceeded for endpoint " + endpoint + "; retry later",
          (retryMicros + 999_999) / 1_000_000, day ? LimitErrors.DAILY_QUOTA : LimitErrors.QUOTA));
      return;
    }
    if (closed != null) {
      String id = closed.quota().id();
      ex.audit().limitId = id;
      metrics.refused(id, endpoint);
      ex.fail(LimitErrors.unavailable("The limit store is unavailable; retry later", 1,
          LimitErrors.STORE_UNAVAILABLE));
      return;
    }
    ex.audit().limitId = applied.toString();
    ex.next();
  }

  private void shadow(Exchange ex, Quotas.Outcome o, String endpoint) {
    String id = o.quota().id();
    metrics.shadowRefused(id, endpoint);
    long now = System.nanoTime();
    Long last = shadowLogged.get(id);
    if (last == null || now - last > SHADOW_LOG_EVERY_NANOS) {
      shadowLogged.put(id, now);
      LOG.info("Limit {} (shadow) would have refused request {} to endpoint {}; let through",
          id, ex.audit().requestId, endpoint);
    }
  }
}
