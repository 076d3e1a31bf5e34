package io.sagegate.gateway.stage;

import io.sagegate.config.EndpointConfig;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.sagegate.limits.ConcurrencyLimiter;
import io.sagegate.limits.ConcurrencyLimits;
import io.sagegate.limits.LimitErrors;
import io.sagegate.limits.LimitMetrics;

/**
 * Layer 1 of admission control: the endpoint's {@code maxConcurrency} (and its inference
 * component's, when the call names one that has a cap) in this replica. A call over the cap is
 * refused at once with 429 ThrottlingException and {@code Retry-After}, before its body is read and
 * before any STS or backend call; it needs no shared store, so it holds with Redis down. The
 * permits are given back when the exchange ends (response ended or caller gone).
 */
public final class ConcurrencyControl implements Stage {

  private final ConcurrencyLimits limits;
  private final LimitMetrics metrics;

  public ConcurrencyControl(ConcurrencyLimits limits, LimitMetrics metrics) {
    this.limits = limits;
    this.metrics = metrics;
  }

  @Override
  public void handle(Exchange ex) {
    EndpointConfig endpoint = ex.endpoint();
    ConcurrencyLimiter limiter = limits.endpoint(endpoint);
    String component = ex.headers().inferenceComponent();
    ConcurrencyLimiter componentLimiter = limits.component(endpoint, component);
    if (limiter == null && componentLimiter == null) {
      ex.next();
      return;
    }
    ConcurrencyLimiter.Permit permit = null;
    if (limiter != null) {
      permit = limiter.tryAcquire();
      if (permit == null) {
        refuse(
            ex, endpoint, "endpoint " + endpoint.name(), limiter.limit(), LimitErrors.CONCURRENCY);
        return;
      }
    }
    ConcurrencyLimiter.Permit componentPermit = null;
    if (componentLimiter != null) {
      componentPermit = componentLimiter.tryAcquire();
      if (componentPermit == null) {
        if (permit != null) {
          permit.release(false);
        }
        refuse(
            ex,
            endpoint,
            "inference component " + component + " of endpoint " + endpoint.name(),
            componentLimiter.limit(),
            LimitErrors.COMPONENT_CONCURRENCY);
        return;
      }
    }
    ConcurrencyLimiter.Permit p = permit;
    ConcurrencyLimiter.Permit c = componentPermit;
    ex.onEnd(
        () -> {
          // A call counts as good for the adaptive limits when it was answered below 500.
          int status = ex.response().getStatusCode();
          boolean ok = ex.response().ended() && status < 500;
          if (p != null) {
            p.release(ok);
          }
          if (c != null) {
            c.release(ok);
          }
        });
    ex.next();
  }

  private void refuse(Exchange ex, EndpointConfig endpoint, String what, int limit, String reason) {
    ex.audit().limit(LimitMetrics.MAX_CONCURRENCY);
    metrics.refused(LimitMetrics.MAX_CONCURRENCY, endpoint.name());
    ex.fail(
        LimitErrors.throttled(
            "Too many concurrent calls to " + what + " (limit " + limit + "); retry later",
            1,
            reason));
  }
}
