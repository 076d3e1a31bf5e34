package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditSink;
import io.sagegate.error.Errors;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;

/**
 * With {@code audit.onFailure: refuse} (the default), answers 503 ServiceUnavailable while the
 * audit sink cannot write, rather than serve calls that would go unaudited. The refusal is itself
 * audited (and so is the next probe of the sink: the first record that is written again ends it).
 */
public final class AuditGuard implements Stage {

  public static final String REASON = "audit:sink_failed";

  private final AuditSink audit;
  private final boolean refuse;

  public AuditGuard(AuditSink audit, boolean refuse) {
    this.audit = audit;
    this.refuse = refuse;
  }

  @Override
  public void handle(Exchange ex) {
    if (refuse && !audit.healthy()) {
      ex.fail(
          Errors.serviceUnavailable("The gateway cannot write audit records, so it serves no calls")
              .withAuditReason(REASON));
      return;
    }
    ex.next();
  }
}
