package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.InterruptibleStream;
import io.sagegate.backend.Invocation;
import io.sagegate.config.EndpointConfig;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.GatewayState;
import io.sagegate.gateway.Stage;
import io.sagegate.metrics.GatewayMetrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.streams.ReadStream;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Last stage: calls the endpoint's backend and relays its answer. A buffered answer is written
 * whole; a stream is piped to the caller as it arrives, and a caller that goes away cancels the
 * upstream call.
 */
public final class Invoke implements Stage {

  private static final Logger LOG = LoggerFactory.getLogger(Invoke.class);

  private final GatewayMetrics metrics;

  public Invoke(GatewayMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void handle(Exchange ex) {
    GatewayState state = ex.state();
    EndpointConfig endpoint = ex.endpoint();
    AuditRecord audit = ex.audit();
    Backend backend = state.backend(endpoint);
    // A caller that goes away before the answer arrives abandons the backend call too.
    Promise<Void> callerGone = Promise.promise();
    ex.onCallerGone(callerGone::tryComplete);
    Invocation invocation =
        new Invocation(
            audit.requestId(),
            endpoint,
            ex.action(),
            ex.caller(),
            ex.headers(),
            Objects.requireNonNull(ex.body(), "BodyReader (or OpenAiBody) has read the body"),
            ex.credentials(),
            ex.decision(),
            callerGone.future());
    audit.backendStarted(System.nanoTime());
    Future<BackendResponse> call =
        ex.openAi() != null
            ? backend.chatCompletions(invocation, ex.openAi())
            : switch (invocation.action()) {
              case INVOKE -> backend.invoke(invocation);
              case INVOKE_STREAM -> backend.invokeStream(invocation);
              case INVOKE_ASYNC -> backend.invokeAsync(invocation);
            };
    ex.later(); // the backend's answer ends the exchange
    call.onComplete(
        ar -> {
          if (ar.failed()) {
            audit.backendEnded(System.nanoTime());
            if (ar.cause() instanceof GatewayException e
                && e.extraFields().get("OriginalStatusCode") instanceof Integer s) {
              audit.backendStatus(s);
            }
            ex.fail(ar.cause());
            return;
          }
          // The backend's answer may come on another thread; the response is written from the loop.
          ex.onLoop(() -> respond(ex, audit, ar.result()));
        });
  }

  private void respond(Exchange ex, AuditRecord audit, BackendResponse upstream) {
    // On the OpenAI routes the answer's usage is read on its way (OpenAiMetering).
    BackendResponse answer =
        ex.openAi() == null ? upstream : OpenAiMetering.meter(upstream, ex.openAi(), audit);
    audit.upstream(answer);
    HttpServerResponse response = ex.response();
    if (ex.request().connection() == null || response.closed()) {
      answer.cancel().run();
      return;
    }
    response.setStatusCode(answer.status());
    answer.headers().forEach(response::putHeader);
    ReadStream<Buffer> stream = answer.stream();
    if (stream == null) { // a buffered answer
      audit.backendEnded(System.nanoTime());
      response.end(answer.body() == null ? Buffer.buffer() : answer.body());
      return;
    }
    response.setChunked(true);
    ex.onCallerGone(() -> answer.cancel().run());
    if (stream instanceof InterruptibleStream s) {
      // Cut off upstream after the 200: the caller gets an InternalStreamFailure event and then a
      // normal end, so the record takes the reason now, before that end closes it.
      s.interruptionHandler(
          reason -> {
            if (response.closed()) {
              // Our own cancel after the caller left, not the backend cutting the stream off.
              return;
            }
            audit.error(Errors.INTERNAL_STREAM_FAILURE, reason);
            LOG.warn(
                "Request {} to endpoint {}: the backend's response stream was cut off ({})",
                audit.requestId(),
                audit.endpoint(),
                reason);
          });
    }
    // Open from here until the pipe ends: it ends on the backend's last event, on a failure of
    // either side, and when the caller leaves (the upstream call is cancelled then).
    metrics.streamOpened();
    // endOnFailure(false): a stream cut off upstream must not look complete to the caller.
    stream
        .pipe()
        .endOnFailure(false)
        .to(response)
        .onComplete(
            done -> {
              metrics.streamClosed();
              audit.backendEnded(System.nanoTime());
              if (done.failed()) {
                // Either side failed mid-stream: the status line is gone, so the connection is
                // reset and
                // the upstream call cancelled; the audit record keeps the reason.
                audit.error(Errors.BAD_GATEWAY, "stream:interrupted");
                answer.cancel().run();
                response.reset();
              }
            });
  }
}
