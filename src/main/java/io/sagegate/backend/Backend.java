package io.sagegate.backend;

import io.sagegate.error.Errors;
import io.sagegate.openai.OpenAiCall;
import io.vertx.core.Future;

/**
 * Serves invocations for endpoints, with SageMaker Runtime semantics: the three operations of the
 * runtime API. A model that answers with an error fails the future with a ModelError (424); a
 * backend that cannot be reached, or answers garbage, with 502; one that does not answer in time
 * with 504. Never puts upstream infrastructure text into the caller's message.
 */
public interface Backend {

  /** InvokeEndpoint: the answer buffered (bounded by the response limit). */
  Future<BackendResponse> invoke(Invocation invocation);

  /**
   * InvokeEndpointWithResponseStream: the answer as a stream of the exact bytes to send to the
   * caller, passed through as the model produces them.
   */
  Future<BackendResponse> invokeStream(Invocation invocation);

  /** InvokeEndpointAsync: 202 with the output and failure locations. */
  default Future<BackendResponse> invokeAsync(Invocation invocation) {
    return Future.failedFuture(
        Errors.validation(
            "Endpoint "
                + invocation.endpoint().name()
                + " does not support asynchronous inference"));
  }

  /**
   * A chat completion on the OpenAI-compatible route: the body (already checked) forwarded, the
   * answer relayed as JSON or, for {@code "stream": true}, as the model's server-sent events.
   * Errors as for the other operations. By default the route is not served (404).
   */
  default Future<BackendResponse> chatCompletions(Invocation invocation, OpenAiCall call) {
    return Future.failedFuture(
        new io.sagegate.error.GatewayException(
            404,
            Errors.UNKNOWN_OPERATION,
            "Endpoint "
                + invocation.endpoint().name()
                + " is not served on the OpenAI-compatible path"));
  }

  /** Whether the last health check passed ({@code GET /ping} for containers). */
  default boolean healthy() {
    return true;
  }

  default Future<Void> close() {
    return Future.succeededFuture();
  }
}
