package io.sagegate.backend.container;

import io.sagegate.backend.InterruptibleStream;
import io.sagegate.eventstream.EventStreamFrames;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import org.jspecify.annotations.Nullable;

/**
 * A model's raw response stream, framed as SageMaker's response stream: each chunk becomes one
 * {@code PayloadPart} event as it arrives (nothing is gathered), so a client written for
 * InvokeEndpointWithResponseStream reads a container's stream as it reads SageMaker's. A source
 * that fails mid-stream ends with an {@code InternalStreamFailure} exception event, as SageMaker
 * ends a stream it cannot finish. Backpressure (pause, resume, fetch) passes straight through.
 */
public final class PayloadPartStream implements InterruptibleStream {

  private final ReadStream<Buffer> source;
  private @Nullable Handler<Buffer> handler;
  private @Nullable Handler<Void> endHandler;
  private @Nullable Handler<String> interruptionHandler;

  /** The source failed: the stream has had its exception event and its end. */
  private boolean failed;

  public PayloadPartStream(ReadStream<Buffer> source) {
    this.source = source;
    // A failed source becomes an exception event followed by a normal end (see the class doc),
    // whether or not a reader asked for failures; once, though a source can report more than one
    // failure (a timeout, then the reset that follows it), as EventStreamRelay does.
    source.exceptionHandler(
        err -> {
          if (failed) {
            return;
          }
          failed = true;
          if (interruptionHandler != null) {
            interruptionHandler.handle(INTERRUPTED);
          }
          if (handler != null) {
            handler.handle(
                EventStreamFrames.internalStreamFailure(
                    "The model's response stream was interrupted"));
          }
          if (endHandler != null) {
            endHandler.handle(null);
          }
        });
  }

  @Override
  public PayloadPartStream interruptionHandler(Handler<String> handler) {
    this.interruptionHandler = handler;
    return this;
  }

  @Override
  public PayloadPartStream handler(@Nullable Handler<Buffer> handler) {
    this.handler = handler;
    source.handler(
        handler == null
            ? null
            : chunk -> {
              if (chunk.length() > 0) {
                handler.handle(EventStreamFrames.payloadPart(chunk.getBytes()));
              }
            });
    return this;
  }

  @Override
  public PayloadPartStream exceptionHandler(Handler<Throwable> ignored) {
    // Source failures are turned into an event and an end in the constructor; this stream itself
    // never fails.
    return this;
  }

  @Override
  public PayloadPartStream endHandler(@Nullable Handler<Void> endHandler) {
    this.endHandler = endHandler;
    source.endHandler(endHandler);
    return this;
  }

  @Override
  public PayloadPartStream pause() {
    source.pause();
    return this;
  }

  @Override
  public PayloadPartStream resume() {
    source.resume();
    return this;
  }

  @Override
  public PayloadPartStream fetch(long amount) {
    source.fetch(amount);
    return this;
  }
}
