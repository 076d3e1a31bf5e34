package io.sagegate.credentials;

import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.config.EndpointConfig;
import io.vertx.core.Future;
import java.util.Map;

/**
 * Chooses the credentials provider by the endpoint's {@code backend.type}: the AWS path's STS
 * provider for {@code sagemaker}, none for container backends.
 */
public final class CredentialsByBackend implements CredentialsProvider {

  private final Map<String, CredentialsProvider> providers;

  public CredentialsByBackend(Map<String, CredentialsProvider> providers) {
    this.providers = Map.copyOf(providers);
  }

  @Override
  public Future<ScopedCredentials> credentialsFor(
      Caller caller, EndpointConfig endpoint, Action action, Decision decision) {
    CredentialsProvider provider = providers.get(endpoint.backend().type());
    return provider == null
        ? Future.succeededFuture(ScopedCredentials.NONE)
        : provider.credentialsFor(caller, endpoint, action, decision);
  }
}
