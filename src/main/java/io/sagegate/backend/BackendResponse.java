package io.sagegate.backend;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import org.jspecify.annotations.Nullable;

/**
 * A backend's successful answer. {@code headers} are the SageMaker Runtime response headers to
 * relay to the caller (Content-Type, X-Amzn-Invoked-Production-Variant, ...). Exactly one of {@code
 * body} (buffered) and {@code stream} (streamed, with {@code cancel} to abort the upstream call
 * when the caller goes away) is set.
 */
public record BackendResponse(
    int status,
    MultiMap headers,
    @Nullable Buffer body,
    @Nullable ReadStream<Buffer> stream,
    Runnable cancel,
    @Nullable String upstreamRequestId) {

  public static BackendResponse buffered(
      int status, MultiMap headers, Buffer body, @Nullable String upstreamRequestId) {
    return new BackendResponse(status, headers, body, null, () -> {}, upstreamRequestId);
  }

  public static BackendResponse streamed(
      int status,
      MultiMap headers,
      ReadStream<Buffer> stream,
      Runnable cancel,
      @Nullable String upstreamRequestId) {
    return new BackendResponse(status, headers, null, stream, cancel, upstreamRequestId);
  }

  public boolean isStream() {
    return stream != null;
  }

  /** The production variant that served the call, for the audit record. */
  public @Nullable String invokedVariant() {
    return headers.get(SageMakerHeaders.INVOKED_PRODUCTION_VARIANT);
  }
}
