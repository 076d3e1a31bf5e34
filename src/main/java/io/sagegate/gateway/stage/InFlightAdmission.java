package io.sagegate.gateway.stage;

import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.sagegate.limits.InFlightCap;
import io.sagegate.limits.LimitErrors;
import io.sagegate.limits.LimitMetrics;
import io.sagegate.metrics.GatewayMetrics;

/**
 * The gateway-wide cap on calls in flight ({@code admission.maxInFlight}): past it, a call is
 * answered 503 ServiceUnavailable with {@code Retry-After} at once, before its token is even read,
 * so an overload is refused rather than queued into timeouts. The place is given back when the
 * exchange ends.
 */
public final class InFlightAdmission implements Stage {

  private final InFlightCap cap;
  private final LimitMetrics metrics;

  public InFlightAdmission(InFlightCap cap, LimitMetrics metrics) {
    this.cap = cap;
    this.metrics = metrics;
  }

  @Override
  public void handle(Exchange ex) {
    if (cap.max() <= 0) {
      ex.next();
      return;
    }
    if (!cap.tryTake()) {
      ex.audit().limit(LimitMetrics.MAX_IN_FLIGHT);
      metrics.refused(LimitMetrics.MAX_IN_FLIGHT, GatewayMetrics.UNKNOWN);
      ex.fail(
          LimitErrors.unavailable(
              "The gateway is at its limit of " + cap.max() + " calls in flight; retry later",
              1,
              LimitErrors.IN_FLIGHT));
      return;
    }
    ex.onEnd(cap::release);
    ex.next();
  }
}
