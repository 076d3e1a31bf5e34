package io.sagegate.eventstream;

/** Bytes that are not a valid event stream: a bad CRC, an impossible length, a truncated frame. */
public final class EventStreamException extends RuntimeException {

  public EventStreamException(String message) {
    super(message);
  }

  public EventStreamException(String message, Throwable cause) {
    super(message, cause);
  }
}
