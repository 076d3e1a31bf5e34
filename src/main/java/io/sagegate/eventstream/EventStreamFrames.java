package io.sagegate.eventstream;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import software.amazon.eventstream.HeaderValue;
import software.amazon.eventstream.Message;

/**
 * Encodes the frames of SageMaker's {@code InvokeEndpointWithResponseStream} response ({@code
 * ResponseStream} in the sagemaker-runtime service model): {@code PayloadPart} events and the
 * {@code ModelStreamError} / {@code InternalStreamFailure} exceptions. Framing and CRCs come from
 * {@code software.amazon.eventstream}, the library the AWS SDK itself uses.
 */
public final class EventStreamFrames {

  public static final String CONTENT_TYPE = "application/vnd.amazon.eventstream";
  public static final String MESSAGE_TYPE = ":message-type";
  public static final String EVENT_TYPE = ":event-type";
  public static final String EXCEPTION_TYPE = ":exception-type";
  public static final String ERROR_CODE = ":error-code";
  public static final String HEADER_CONTENT_TYPE = ":content-type";
  public static final String EVENT = "event";
  public static final String EXCEPTION = "exception";
  public static final String PAYLOAD_PART = "PayloadPart";
  public static final String MODEL_STREAM_ERROR = "ModelStreamError";
  public static final String INTERNAL_STREAM_FAILURE = "InternalStreamFailure";

  private static final ObjectMapper JSON = new ObjectMapper();

  private EventStreamFrames() {}

  /** A {@code PayloadPart} event whose payload is {@code bytes} verbatim (the model's output). */
  public static Buffer payloadPart(byte[] bytes) {
    Objects.requireNonNull(bytes, "bytes");
    Map<String, HeaderValue> headers = new LinkedHashMap<>();
    headers.put(MESSAGE_TYPE, HeaderValue.fromString(EVENT));
    headers.put(EVENT_TYPE, HeaderValue.fromString(PAYLOAD_PART));
    headers.put(HEADER_CONTENT_TYPE, HeaderValue.fromString("application/octet-stream"));
    return encode(headers, bytes);
  }

  /**
   * A {@code ModelStreamError} exception: {@code {"Message": ..., "ErrorCode": ...}}; the model
   * documents error codes {@code ModelInvocationTimeExceeded} and {@code StreamBroken}.
   */
  public static Buffer modelStreamError(String message, String errorCode) {
    ObjectNode body = JSON.createObjectNode();
    body.put("Message", Objects.requireNonNull(message, "message"));
    if (errorCode != null) {
      body.put("ErrorCode", errorCode);
    }
    return exception(MODEL_STREAM_ERROR, body);
  }

  /** An {@code InternalStreamFailure} exception: {@code {"Message": ...}}. */
  public static Buffer internalStreamFailure(String message) {
    ObjectNode body = JSON.createObjectNode();
    body.put("Message", Objects.requireNonNull(message, "message"));
    return exception(INTERNAL_STREAM_FAILURE, body);
  }

  private static Buffer exception(String exceptionType, ObjectNode body) {
    Map<String, HeaderValue> headers = new LinkedHashMap<>();
    headers.put(MESSAGE_TYPE, HeaderValue.fromString(EXCEPTION));
    headers.put(EXCEPTION_TYPE, HeaderValue.fromString(exceptionType));
    headers.put(HEADER_CONTENT_TYPE, HeaderValue.fromString("application/json"));
    try {
      return encode(headers, JSON.writeValueAsBytes(body));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot serialise an event stream exception body", e);
    }
  }

  private static Buffer encode(Map<String, HeaderValue> headers, byte[] payload) {
    ByteBuffer encoded = new Message(headers, payload).toByteBuffer();
    byte[] bytes = new byte[encoded.remaining()];
    encoded.get(bytes);
    return Buffer.buffer(bytes);
  }
}
