package io.sagegate.aws;

import io.sagegate.backend.UpstreamExchange;
import io.sagegate.error.GatewayException;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import java.util.function.Consumer;

/**
 * One exchange with SageMaker Runtime, under one deadline from sending until the whole answer is
 * read (or, for a stream, until its head; the gaps between events are then bounded by the request's
 * idle timeout). A retry is an exchange of its own, with a deadline of its own.
 */
abstract class RuntimeExchange<T> extends UpstreamExchange<T> {

  protected final RuntimeUpstream upstream;

  RuntimeExchange(RuntimeUpstream upstream) {
    super(upstream.deadlines());
    this.upstream = upstream;
  }

  /**
   * Reads the answer whole and hands its body to {@code onBody}, unless the exchange ended
   * meanwhile or the read failed (the exchange then fails with why).
   */
  protected final void readAnswer(HttpClientResponse resp, Consumer<Buffer> onBody) {
    upstream
        .readAnswer(resp)
        .onComplete(
            b -> {
              disarm();
              if (ended()) {
                return;
              }
              if (b.failed()) {
                fail(upstream.readFailure(b.cause()));
              } else {
                onBody.accept(b.result());
              }
            });
  }

  /** Succeeds or fails as {@code next} (a retry) does. */
  protected final void endAs(Future<T> next) {
    next.onComplete(
        ar -> {
          if (ar.succeeded()) {
            succeed(ar.result());
          } else {
            fail(ar.cause());
          }
        });
  }

  @Override
  protected final GatewayException timedOut() {
    return upstream.timedOut();
  }
}
