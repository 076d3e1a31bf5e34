package io.sagegate.eventstream;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * One decoded frame of an {@code application/vnd.amazon.eventstream} response, reduced to what
 * SageMaker's response stream uses.
 *
 * @param messageType {@code :message-type}: {@code event}, {@code exception} or {@code error}
 * @param type {@code :event-type} for events, {@code :exception-type} for exceptions, {@code
 *     :error-code} for errors; null if absent
 * @param contentType {@code :content-type}, null if absent
 * @param payload the frame's payload bytes (never null)
 */
public record EventStreamFrame(
    @Nullable String messageType,
    @Nullable String type,
    @Nullable String contentType,
    byte[] payload) {

  public EventStreamFrame {
    Objects.requireNonNull(payload, "payload");
  }

  public boolean isPayloadPart() {
    return EventStreamFrames.EVENT.equals(messageType)
        && EventStreamFrames.PAYLOAD_PART.equals(type);
  }

  public boolean isException() {
    return EventStreamFrames.EXCEPTION.equals(messageType) || "error".equals(messageType);
  }

  /** The payload as UTF-8 text, for exception frames' JSON. */
  public String payloadText() {
    return new String(payload, StandardCharsets.UTF_8);
  }
}
