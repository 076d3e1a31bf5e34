package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.authz.AccessRequest;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.config.EndpointConfig;
import io.sagegate.error.Errors;
import io.sagegate.gateway.GatewayState;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;

/**
 * Resolves the endpoint and decides the request against the rules. An unknown endpoint and a
 * forbidden one get the very same 403, so endpoint names cannot be probed; the audit record
 * still tells them apart (decision and rule id).
 */
public final class AccessControl implements Stage {

  @Override
  public void handle(Exchange ex) {
    AuditRecord audit = ex.audit();
    GatewayState state = ex.state();
    String name = ex.endpointName();
    Action action = ex.action();
    EndpointConfig endpoint = state.endpoint(name);
    if (endpoint == null) {
      audit.decision = "deny";
      audit.ruleId = Decision.UNKNOWN_ENDPOINT;
      ex.fail(Errors.accessDenied(name, action.ruleName()));
      return;
    }
    audit.endpoint = endpoint.name();
    InvocationHeaders h = ex.headers();
    Decision decision = state.authorizer().decide(new AccessRequest(
        ex.caller(), endpoint, action, audit.sourceIp,
        h.targetVariant(), h.targetModel(), h.inferenceComponent()));
    audit.decision = decision.allowed() ? "allow" : "deny";
    audit.ruleId = decision.ruleId();
    if (!decision.allowed()) {
      ex.fail(Errors.accessDenied(name, action.ruleName()));
      return;
    }
    ex.allowed(endpoint, decision);
    ex.next();
  }
}
