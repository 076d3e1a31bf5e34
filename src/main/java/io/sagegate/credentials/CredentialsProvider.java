package io.sagegate.credentials;

import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.config.EndpointConfig;
import io.vertx.core.Future;

/**
 * Obtains the credentials an allowed call runs under. The AWS path assumes a scoped IAM role per
 * caller; container backends need none. Fails with a GatewayException (503, or 403 for an STS
 * AccessDenied caused by configuration) whose audit reason carries the detail.
 */
@FunctionalInterface
public interface CredentialsProvider {

  Future<ScopedCredentials> credentialsFor(
      Caller caller, EndpointConfig endpoint, Action action, Decision decision);

  /** For endpoints whose backend needs no AWS credentials. */
  static CredentialsProvider none() {
    return (caller, endpoint, action, decision) -> Future.succeededFuture(ScopedCredentials.NONE);
  }
}
