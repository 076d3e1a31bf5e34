package io.sagegate.aws;

import io.sagegate.aws.SageMakerRequests.Route;
import io.sagegate.backend.UpstreamFailures;
import io.sagegate.error.GatewayException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.http.SdkHttpRequest;

/**
 * One attempt at a signed SageMaker Runtime call (InvokeEndpoint, its response stream, the async
 * call): sends the signed request and succeeds with the 2xx answer (its body read when {@code
 * whole}, else the response paused at its head), or fails with the mapped error.
 *
 * <p><b>Retries</b> only where safe: a refused connection and SageMaker's ServiceUnavailable,
 * InternalFailure and InternalDependencyException, at most {@value #MAX_RETRIES} times with a short
 * backoff ({@link #BACKOFF_MS}), never for ModelError or other 4xx, and never once a response byte
 * went to the caller. Each retry is an attempt of its own, with its own deadline; the same signed
 * request is sent again.
 */
final class RuntimeCall extends RuntimeExchange<RuntimeCall.Answer> {

  static final int MAX_RETRIES = 2;
  static final long[] BACKOFF_MS = {50, 200};

  /** A 2xx answer from SageMaker Runtime: its (paused) response, and its body when read whole. */
  record Answer(HttpClientResponse response, @Nullable Buffer body) {}

  /** What every attempt of one call sends, and how its answer is read. */
  record Request(
      SdkHttpRequest signed,
      Route route,
      Buffer body,
      String iamAction,
      boolean whole,
      @Nullable Future<Void> callerGone) {}

  private final Request request;
  private final int retry;

  private RuntimeCall(RuntimeUpstream upstream, Request request, int retry) {
    super(upstream);
    this.request = request;
    this.retry = retry;
  }

  /** Sends {@code request}, retrying where safe. */
  static Future<Answer> send(RuntimeUpstream upstream, Request request) {
    return new RuntimeCall(upstream, request, 0).start();
  }

  private Future<Answer> start() {
    upstream.onContext(this::exchange);
    return future();
  }

  private void exchange() {
    // Built before the deadline is armed: what building throws then fails this call at once.
    RequestOptions options;
    try {
      options = request.route().options(request.signed(), upstream.connectTimeoutMillis());
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    arm();
    // The caller went away before the answer: the call is abandoned (the request reset, so
    // SageMaker sees the connection go), and not retried.
    abandonWhenCallerLeaves(request.callerGone(), upstream.endpoint(), "sagemaker:caller_gone");
    // Plain listeners rather than compose + andThen + onComplete: the same order of events (the
    // response is paused first, then handled) with two Future stages fewer per request.
    upstream
        .client()
        .request(options)
        .onComplete(
            ar -> {
              if (ar.failed()) {
                failed(ar.cause());
                return;
              }
              HttpClientRequest req = ar.result();
              if (!requestMade(req)) {
                return;
              }
              req.response()
                  .onComplete(
                      r -> {
                        if (r.failed()) {
                          failed(r.cause());
                          return;
                        }
                        // Pause before anything else can run.
                        r.result().pause();
                        answered(r.result());
                      });
              req.end(request.body());
            });
  }

  private void failed(Throwable t) {
    disarm();
    if (ended()) {
      return;
    }
    boolean connect = UpstreamFailures.isConnectFailure(t);
    if (connect && retry < MAX_RETRIES) {
      retryLater();
      return;
    }
    fail(upstream.transportError(t, connect));
  }

  private void answered(HttpClientResponse resp) {
    if (resp.statusCode() / 100 == 2) {
      if (request.whole()) {
        readAnswer(resp, body -> succeed(new Answer(resp, body)));
      } else {
        streamFrom(resp, upstream.idleTimeoutMillis(), new Answer(resp, null));
      }
      return;
    }
    readAnswer(
        resp,
        body -> {
          GatewayException e =
              SageMakerErrors.map(
                  upstream.endpoint(),
                  request.iamAction(),
                  resp.statusCode(),
                  resp.headers(),
                  body);
          String code =
              e.auditReason() == null ? "" : e.auditReason().substring("sagemaker:".length());
          if (SageMakerErrors.RETRYABLE.contains(code) && retry < MAX_RETRIES) {
            retryLater();
          } else {
            fail(e);
          }
        });
  }

  private void retryLater() {
    upstream
        .vertx()
        .setTimer(
            BACKOFF_MS[retry], id -> endAs(new RuntimeCall(upstream, request, retry + 1).start()));
  }
}
