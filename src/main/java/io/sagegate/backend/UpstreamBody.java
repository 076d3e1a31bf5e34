package io.sagegate.backend;

import io.sagegate.error.GatewayException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * Reads an upstream answer whole, bounded, as both backends do: at most {@code limit} bytes, and
 * beyond it either the first {@code limit} bytes are kept ({@link Overflow#TRUNCATE}, for an error
 * body whose start makes the message) or the read fails ({@link Overflow#FAIL}); either way the
 * transfer is stopped by resetting the request. A declared {@code Content-Length} over the limit
 * fails before any byte is read.
 *
 * <p>The first chunk is kept as it is (Vert.x hands each chunk over in a buffer of its own), so the
 * usual one-chunk answer is neither allocated again nor copied; from the second chunk on they are
 * appended to a new buffer.
 */
public final class UpstreamBody {

  /** What happens to the bytes beyond the limit. */
  public enum Overflow {
    /** Keep the first {@code limit} bytes and stop reading. */
    TRUNCATE,
    /** Fail the read with the caller's error. */
    FAIL
  }

  private @Nullable Buffer buffer;
  private boolean owned;

  private UpstreamBody() {}

  /**
   * Reads {@code resp}'s body (resuming it if paused).
   *
   * @param tooLarge the error for a body over the limit with {@link Overflow#FAIL}
   * @return the body; fails with {@code tooLarge()} or with what broke the read
   */
  public static Future<Buffer> read(
      HttpClientResponse resp, long limit, Overflow overflow, Supplier<GatewayException> tooLarge) {
    if (overflow == Overflow.FAIL && declaredOver(resp, limit)) {
      // The reset that follows is ours: the response need not report it (else Vert.x logs it at
      // ERROR, having no handler to give it to).
      resp.exceptionHandler(ignored -> {});
      resp.request().reset();
      return Future.failedFuture(tooLarge.get());
    }
    Promise<Buffer> promise = Promise.promise();
    UpstreamBody acc = new UpstreamBody();
    resp.handler(
        chunk -> {
          if (promise.future().isComplete()) {
            return;
          }
          if (acc.length() + (long) chunk.length() > limit) {
            if (overflow == Overflow.TRUNCATE) {
              acc.add(chunk.slice(0, (int) (limit - acc.length())));
              promise.tryComplete(acc.buffer());
            } else {
              promise.tryFail(tooLarge.get());
            }
            resp.request().reset();
            return;
          }
          acc.add(chunk);
        });
    resp.exceptionHandler(promise::tryFail);
    resp.endHandler(v -> promise.tryComplete(acc.buffer()));
    resp.resume();
    return promise.future();
  }

  private static boolean declaredOver(HttpClientResponse resp, long limit) {
    String length = resp.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (length == null) {
      return false;
    }
    try {
      return Long.parseLong(length.trim()) > limit;
    } catch (NumberFormatException e) {
      return false; // let the decoder complain, or read what comes
    }
  }

  private int length() {
    return buffer == null ? 0 : buffer.length();
  }

  private void add(Buffer chunk) {
    if (buffer == null) {
      buffer = chunk;
    } else {
      if (!owned) {
        buffer = Buffer.buffer(buffer.length() + chunk.length()).appendBuffer(buffer);
        owned = true;
      }
      buffer.appendBuffer(chunk);
    }
  }

  private Buffer buffer() {
    return buffer == null ? Buffer.buffer() : buffer;
  }
}
