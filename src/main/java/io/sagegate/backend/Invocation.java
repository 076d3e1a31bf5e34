package io.sagegate.backend;

import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import org.jspecify.annotations.Nullable;

/**
 * One allowed call on its way to a backend: the endpoint, the validated SageMaker request headers,
 * the body (already bounded by the size limit) and the credentials obtained for this caller ({@link
 * ScopedCredentials#NONE} for backends that need none). {@code decision} is the allow decision;
 * every condition of its rule, {@code conditions.inputLocations} included, held when the rules
 * decided (the sagemaker backend checks the input location again against the endpoint's prefixes
 * and the rule's, as a second line); null when unknown. {@code callerGone} completes when the
 * caller's connection closes before the answer is sent, so a backend may abandon its call; null for
 * none.
 */
public record Invocation(
    String requestId,
    EndpointConfig endpoint,
    Action action,
    Caller caller,
    InvocationHeaders headers,
    Buffer body,
    ScopedCredentials credentials,
    @Nullable Decision decision,
    @Nullable Future<Void> callerGone) {

  /** Without the decision and without a caller-gone signal (tests and benchmarks). */
  public Invocation(
      String requestId,
      EndpointConfig endpoint,
      Action action,
      Caller caller,
      InvocationHeaders headers,
      Buffer body,
      ScopedCredentials credentials) {
    this(requestId, endpoint, action, caller, headers, body, credentials, null, null);
  }
}
