package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.RequestKeys;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Reads the SageMaker request headers and checks them against SageMaker's limits, before the
 * decision, because rules may match on the target variant, model or inference component.
 */
public final class HeaderValidation implements Handler<RoutingContext> {

  @Override
  public void handle(RoutingContext ctx) {
    InvocationHeaders headers;
    try {
      headers = InvocationHeaders.from(ctx.request().headers(), RequestKeys.ACTION.get(ctx));
    } catch (GatewayException e) {
      ctx.fail(e);
      return;
    }
    RequestKeys.HEADERS.put(ctx, headers);
    AuditRecord audit = RequestKeys.AUDIT.get(ctx);
    audit.targetVariant = headers.targetVariant();
    audit.targetModel = headers.targetModel();
    audit.inferenceComponent = headers.inferenceComponent();
    ctx.next();
  }
}
