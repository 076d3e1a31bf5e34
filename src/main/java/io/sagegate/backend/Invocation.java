package io.sagegate.backend;

import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.vertx.core.buffer.Buffer;

/**
 * One allowed call on its way to a backend: the endpoint, the validated SageMaker request
 * headers, the body (already bounded by the size limit) and the credentials obtained for this
 * caller ({@link ScopedCredentials#NONE} for backends that need none).
 */
public record Invocation(
    String requestId,
    EndpointConfig endpoint,
    Action action,
    Caller caller,
    InvocationHeaders headers,
    Buffer body,
    ScopedCredentials credentials) {}
