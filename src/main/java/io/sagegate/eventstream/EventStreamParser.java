package io.sagegate.eventstream;

import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.zip.CRC32;
import org.jspecify.annotations.Nullable;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;

/**
 * Incremental decoder for an {@code application/vnd.amazon.eventstream} body: feed it the chunks as
 * they arrive (a frame may span chunks, a chunk may hold several frames) and it hands each complete
 * frame to the handler, in order.
 *
 * <p>Decoding and both CRC checks are {@code software.amazon.eventstream.Message.decode}'s. Only
 * the length-prefixed buffering is done here, rather than with the library's {@code
 * MessageDecoder}, for two reasons a gateway needs: the prelude is checked as soon as its 12 bytes
 * are in (so junk from upstream fails at once instead of waiting for a "length" of a gigabyte), and
 * {@link #end()} can tell a clean end from a truncated frame.
 *
 * <p>Not thread-safe: feed it from one thread (the connection's event loop). After a failure every
 * further call throws too.
 */
public final class EventStreamParser {

  /** Largest frame accepted by default: the event stream format's own limit, 16 MiB. */
  public static final int DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

  private static final int PRELUDE_BYTES = 12;
  private static final int OVERHEAD_BYTES = 16;

  private final Consumer<EventStreamFrame> handler;
  private final int maxFrameBytes;
  private Buffer pending = Buffer.buffer();
  private @Nullable EventStreamException failure;
  private long framesDecoded;

  public EventStreamParser(Consumer<EventStreamFrame> handler) {
    this(handler, DEFAULT_MAX_FRAME_BYTES);
  }

  public EventStreamParser(Consumer<EventStreamFrame> handler, int maxFrameBytes) {
    this.handler = Objects.requireNonNull(handler, "handler");
    if (maxFrameBytes < OVERHEAD_BYTES) {
      throw new IllegalArgumentException(
          "maxFrameBytes must be at least " + OVERHEAD_BYTES + ", was " + maxFrameBytes);
    }
    this.maxFrameBytes = maxFrameBytes;
  }

  /**
   * Adds a chunk and delivers every frame it completes.
   *
   * @throws EventStreamException if the bytes are not a valid event stream
   */
  public void feed(Buffer chunk) {
    Objects.requireNonNull(chunk, "chunk");
    if (failure != null) {
      throw failure;
    }
    pending.appendBuffer(chunk);
    int pos = 0;
    try {
      while (pending.length() - pos >= PRELUDE_BYTES) {
        int total = pending.getInt(pos);
        int headersLength = pending.getInt(pos + 4);
        checkPrelude(pos, total, headersLength);
        if (pending.length() - pos < total) {
          break;
        }
        byte[] frame = pending.getBytes(pos, pos + total);
        pos += total;
        framesDecoded++;
        handler.accept(toFrame(decode(frame)));
      }
    } finally {
      pending = pos == 0 ? pending : pending.getBuffer(pos, pending.length());
    }
  }

  /**
   * Declares the body complete.
   *
   * @throws EventStreamException if a frame was left incomplete
   */
  public void end() {
    if (failure != null) {
      throw failure;
    }
    if (pending.length() > 0) {
      throw fail(
          "event stream ended inside a frame ("
              + pending.length()
              + " bytes left over after "
              + framesDecoded
              + " complete frames)");
    }
  }

  /** Whether bytes of an incomplete frame are buffered. */
  public boolean hasPartialFrame() {
    return pending.length() > 0;
  }

  private void checkPrelude(int pos, int total, int headersLength) {
    CRC32 crc = new CRC32();
    crc.update(pending.getBytes(pos, pos + 8));
    long expected = Integer.toUnsignedLong(pending.getInt(pos + 8));
    if (crc.getValue() != expected) {
      throw fail(
          "event stream prelude CRC mismatch at frame "
              + (framesDecoded + 1)
              + " (not an event stream, or corrupted)");
    }
    if (total < OVERHEAD_BYTES || total > maxFrameBytes) {
      throw fail(
          "event stream frame length "
              + Integer.toUnsignedString(total)
              + " outside ["
              + OVERHEAD_BYTES
              + ", "
              + maxFrameBytes
              + "]");
    }
    if (headersLength < 0 || headersLength > total - OVERHEAD_BYTES) {
      throw fail(
          "event stream headers length "
              + Integer.toUnsignedString(headersLength)
              + " does not fit a frame of "
              + total
              + " bytes");
    }
  }

  private Message decode(byte[] frame) {
    try {
      return Message.decode(ByteBuffer.wrap(frame));
    } catch (RuntimeException e) {
      // The library signals CRC and header errors as IllegalArgument/IllegalState exceptions.
      throw fail("invalid event stream frame " + framesDecoded + ": " + e.getMessage());
    }
  }

  private EventStreamFrame toFrame(Message message) {
    Map<String, HeaderValue> headers = message.getHeaders();
    String messageType = string(headers, EventStreamFrames.MESSAGE_TYPE);
    @Nullable String type;
    if (EventStreamFrames.EXCEPTION.equals(messageType)) {
      type = string(headers, EventStreamFrames.EXCEPTION_TYPE);
    } else if ("error".equals(messageType)) {
      type = string(headers, EventStreamFrames.ERROR_CODE);
    } else {
      type = string(headers, EventStreamFrames.EVENT_TYPE);
    }
    return new EventStreamFrame(
        messageType,
        type,
        string(headers, EventStreamFrames.HEADER_CONTENT_TYPE),
        message.getPayload());
  }

  private @Nullable String string(Map<String, HeaderValue> headers, String name) {
    HeaderValue value = headers.get(name);
    if (value == null) {
      return null;
    }
    try {
      return value.getString();
    } catch (RuntimeException e) {
      throw fail("event stream header " + name + " is not a string");
    }
  }

  private EventStreamException fail(String message) {
    failure = new EventStreamException(message);
    return failure;
  }
}
