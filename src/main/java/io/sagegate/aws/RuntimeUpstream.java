package io.sagegate.aws;

import io.sagegate.backend.CallDeadlines;
import io.sagegate.backend.UpstreamBody;
import io.sagegate.backend.UpstreamFailures;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every exchange of one {@link SageMakerBackend} with SageMaker Runtime shares: the client,
 * the deadlines, the timeouts, and how a broken exchange becomes the caller's error.
 *
 * @param endpoint the endpoint's name, for messages and the log
 * @param idleTimeoutMillis the whole-call deadline of one exchange, and a stream's longest gap
 */
record RuntimeUpstream(
    Vertx vertx,
    HttpClient client,
    CallDeadlines deadlines,
    String endpoint,
    long connectTimeoutMillis,
    long idleTimeoutMillis) {

  /** SageMaker Runtime's limit for a buffered answer, with room to spare. */
  static final long MAX_RESPONSE_BYTES = 32L * 1024 * 1024;

  private static final Logger LOG = LoggerFactory.getLogger(SageMakerBackend.class);

  /**
   * Runs {@code exchange} on a Vert.x context (the current one, else a new one), so that every
   * callback of its request runs on that context's thread in order and a response is paused before
   * any of its body can be delivered.
   */
  void onContext(Runnable exchange) {
    if (Vertx.currentContext() == null) {
      vertx.getOrCreateContext().runOnContext(v -> exchange.run());
    } else {
      exchange.run();
    }
  }

  /** Reads a whole (non-streamed) answer, bounded by {@value #MAX_RESPONSE_BYTES} bytes. */
  Future<Buffer> readAnswer(HttpClientResponse resp) {
    return UpstreamBody.read(
        resp,
        MAX_RESPONSE_BYTES,
        UpstreamBody.Overflow.FAIL,
        () ->
            Errors.badGateway(
                    "SageMaker Runtime's answer for endpoint " + endpoint + " is too large")
                .withAuditReason("sagemaker:response_too_large"));
  }

  /** What broke the read of an answer, as the caller's error. */
  GatewayException readFailure(Throwable t) {
    return t instanceof GatewayException g ? g : transportError(t, false);
  }

  /** The error of an exchange whose deadline passed. */
  GatewayException timedOut() {
    return transportError(
        new java.util.concurrent.TimeoutException(
            "no complete answer within " + idleTimeoutMillis + " ms"),
        false);
  }

  /** A failed connection or exchange (logged with its cause), as the caller's error. */
  GatewayException transportError(Throwable t, boolean connect) {
    LOG.warn("SageMaker Runtime call for endpoint {} failed: {}", endpoint, t.toString());
    if (!connect && UpstreamFailures.isTimeout(t)) {
      return Errors.gatewayTimeout(
              "SageMaker Runtime did not answer in time for endpoint " + endpoint)
          .withAuditReason("sagemaker:timeout");
    }
    return Errors.badGateway("Could not reach SageMaker Runtime for endpoint " + endpoint)
        .withAuditReason(connect ? "sagemaker:connect_failed" : "sagemaker:connection_failed");
  }
}
