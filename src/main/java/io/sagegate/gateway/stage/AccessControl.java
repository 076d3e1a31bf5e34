package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.authz.AccessRequest;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.authz.InputLocations;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.config.EndpointConfig;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.GatewayState;
import io.sagegate.gateway.Stage;

/**
 * Resolves the endpoint and decides the request against the rules. An unknown endpoint and a
 * forbidden one get the very same 403, so endpoint names cannot be probed; the audit record still
 * tells them apart (decision and rule id).
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
      audit.unknownEndpoint();
      ex.fail(Errors.accessDenied(name, action.ruleName()));
      return;
    }
    audit.endpoint(endpoint.name());
    InvocationHeaders h = ex.headers();
    AccessRequest request =
        new AccessRequest(
            ex.caller(),
            endpoint,
            action,
            audit.sourceIp(),
            h.targetVariant(),
            h.targetModel(),
            h.inferenceComponent(),
            h.inputLocation());
    // The rules, then the endpoint's own async input prefixes: both before any credentials are
    // obtained, so a refused call never costs an STS session (nor shows up in CloudTrail).
    Decision decision = InputLocations.decide(state.authorizer().decide(request), request);
    audit.decision(decision);
    if (!decision.allowed()) {
      GatewayException denied = Errors.accessDenied(name, action.ruleName());
      if (Decision.INPUT_LOCATION_NOT_ALLOWED.equals(decision.ruleId())) {
        denied =
            new GatewayException(
                    403,
                    Errors.ACCESS_DENIED,
                    "Input location "
                        + h.inputLocation()
                        + " is not under an allowed prefix for endpoint "
                        + endpoint.name())
                .withAuditReason(InputLocations.REFUSED_REASON);
      }
      ex.fail(denied);
      return;
    }
    ex.allowed(endpoint, decision);
    ex.next();
  }
}
