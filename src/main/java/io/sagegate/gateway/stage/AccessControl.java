package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.authz.AccessRequest;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.config.EndpointConfig;
import io.sagegate.error.Errors;
import io.sagegate.gateway.GatewayState;
import io.sagegate.gateway.RequestKeys;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Resolves the endpoint and decides the request against the rules. An unknown endpoint and a
 * forbidden one get the very same 403, so endpoint names cannot be probed; the audit record
 * still tells them apart (decision and rule id).
 */
public final class AccessControl implements Handler<RoutingContext> {

  @Override
  public void handle(RoutingContext ctx) {
    AuditRecord audit = RequestKeys.AUDIT.get(ctx);
    GatewayState state = RequestKeys.STATE.get(ctx);
    String name = RequestKeys.ENDPOINT_NAME.get(ctx);
    Action action = RequestKeys.ACTION.get(ctx);
    EndpointConfig endpoint = state.endpoint(name);
    if (endpoint == null) {
      audit.decision = "deny";
      audit.ruleId = "unknown-endpoint";
      ctx.fail(Errors.accessDenied(name, action.ruleName()));
      return;
    }
    audit.endpoint = endpoint.name();
    InvocationHeaders h = RequestKeys.HEADERS.get(ctx);
    Decision decision = state.authorizer().decide(new AccessRequest(
        RequestKeys.CALLER.get(ctx), endpoint, action, audit.sourceIp,
        h.targetVariant(), h.targetModel(), h.inferenceComponent()));
    audit.decision = decision.allowed() ? "allow" : "deny";
    audit.ruleId = decision.ruleId();
    if (!decision.allowed()) {
      ctx.fail(Errors.accessDenied(name, action.ruleName()));
      return;
    }
    RequestKeys.ENDPOINT.put(ctx, endpoint);
    RequestKeys.DECISION.put(ctx, decision);
    ctx.next();
  }
}
