package io.sagegate.aws;

import io.sagegate.backend.InterruptibleStream;
import io.sagegate.eventstream.EventStreamException;
import io.sagegate.eventstream.EventStreamFrames;
import io.sagegate.eventstream.EventStreamParser;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Relays SageMaker's response event stream to the caller frame by frame: the upstream bytes are
 * checked by {@link EventStreamParser} (lengths, CRCs) and each complete frame is passed on as its
 * exact upstream bytes, as soon as it is complete. Bytes of an incomplete frame are held back, so
 * the caller never receives half a frame. If the upstream sends junk, breaks off inside a frame or
 * fails, the caller's stream ends with an {@code InternalStreamFailure} frame (the only way to
 * report an error once the 200 has been sent) and the upstream request is reset.
 *
 * <p>Flow control is the upstream response's: pause, resume and fetch are passed through.
 */
final class EventStreamRelay implements InterruptibleStream {

  private static final Logger LOG = LoggerFactory.getLogger(EventStreamRelay.class);
  static final String FAILURE_MESSAGE =
      "The response stream from SageMaker Runtime was interrupted";

  private final ReadStream<Buffer> upstream;
  private final Runnable abort;
  private final String endpoint;

  /** Frames the parser accepted that have not been passed on yet. */
  private int accepted;

  /**
   * Counts the frames it accepts: those are passed on, as their exact bytes, from {@link #pending}.
   */
  private final EventStreamParser parser = new EventStreamParser(frame -> accepted++);

  private Buffer pending = Buffer.buffer();
  private @Nullable Handler<Buffer> handler;
  private @Nullable Handler<Void> endHandler;
  private boolean done;
  private @Nullable Handler<String> interruptionHandler;

  EventStreamRelay(ReadStream<Buffer> upstream, Runnable abort, String endpoint) {
    this.upstream = upstream;
    this.abort = abort;
    this.endpoint = endpoint;
    upstream.handler(this::onChunk);
    upstream.endHandler(v -> onEnd());
    upstream.exceptionHandler(this::onFailure);
  }

  private void onChunk(Buffer chunk) {
    if (done) {
      return;
    }
    pending.appendBuffer(chunk);
    EventStreamException invalid = null;
    try {
      parser.feed(chunk);
    } catch (EventStreamException e) {
      invalid = e;
    }
    // Pass on each frame the parser accepted, by its length prefix, even those in the same chunk
    // as junk after them.
    int offset = 0;
    while (accepted > 0) {
      int total = pending.getInt(offset);
      accepted--;
      emit(pending.getBuffer(offset, offset + total));
      offset += total;
    }
    if (offset > 0) {
      pending = pending.getBuffer(offset, pending.length());
    }
    if (invalid != null && !done) {
      LOG.warn(
          "SageMaker sent an invalid event stream for endpoint {}: {}",
          endpoint,
          invalid.getMessage());
      fail();
    }
  }

  private void onEnd() {
    if (done) {
      return;
    }
    try {
      parser.end();
    } catch (EventStreamException e) {
      LOG.warn("SageMaker's event stream for endpoint {} ended inside a frame", endpoint);
      fail();
      return;
    }
    done = true;
    if (endHandler != null) {
      endHandler.handle(null);
    }
  }

  private void onFailure(Throwable t) {
    if (done) {
      return;
    }
    LOG.warn("SageMaker's event stream for endpoint {} failed: {}", endpoint, t.toString());
    fail();
  }

  private void fail() {
    done = true;
    if (interruptionHandler != null) {
      interruptionHandler.handle(INTERRUPTED);
    }
    emit(EventStreamFrames.internalStreamFailure(FAILURE_MESSAGE));
    abort.run();
    if (endHandler != null) {
      endHandler.handle(null);
    }
  }

  private void emit(Buffer frame) {
    if (handler != null) {
      handler.handle(frame);
    }
  }

  @Override
  public EventStreamRelay interruptionHandler(Handler<String> handler) {
    this.interruptionHandler = handler;
    return this;
  }

  /** Stops relaying without sending anything more (the caller went away). */
  void cancel() {
    done = true;
  }

  /**
   * Accepted but never called: once the 200 is out, every upstream failure ends the stream with an
   * InternalStreamFailure frame instead.
   */
  @Override
  public ReadStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
    return this;
  }

  @Override
  public ReadStream<Buffer> handler(Handler<Buffer> handler) {
    this.handler = handler;
    return this;
  }

  @Override
  public ReadStream<Buffer> pause() {
    upstream.pause();
    return this;
  }

  @Override
  public ReadStream<Buffer> resume() {
    upstream.resume();
    return this;
  }

  @Override
  public ReadStream<Buffer> fetch(long amount) {
    upstream.fetch(amount);
    return this;
  }

  @Override
  public ReadStream<Buffer> endHandler(Handler<Void> endHandler) {
    this.endHandler = endHandler;
    return this;
  }
}
