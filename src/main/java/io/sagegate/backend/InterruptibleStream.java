package io.sagegate.backend;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;

/**
 * A response stream that reports an upstream failure in-band (SageMaker's {@code
 * InternalStreamFailure} exception event) and then ends normally, because the 200 is already out.
 * It keeps the reason, so that the request's audit record does not read like a complete answer.
 */
public interface InterruptibleStream extends ReadStream<Buffer> {

  /** The audit reason of a stream cut off upstream after its 200. */
  String INTERRUPTED = "backend:stream_interrupted";

  /**
   * Called with the audit reason (e.g. {@code backend:stream_interrupted}) when the stream is cut
   * off upstream, before the end handler, so the request's record still takes it.
   */
  InterruptibleStream interruptionHandler(Handler<String> handler);
}
