package io.sagegate.error;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A request that cannot be served, carrying what the caller is told: an HTTP status, an error type
 * in SageMaker Runtime's vocabulary ({@code x-amzn-ErrorType}) and a message that names what is
 * wrong. The one failure handler turns it into the response; nothing else writes errors.
 *
 * <p>{@code auditReason} is an operator-facing detail (for example the STS error code) that goes to
 * the audit record and the log but never to the caller.
 */
public class GatewayException extends RuntimeException {

  private final int status;
  private final String errorType;
  private final Map<String, Object> extraFields;
  private final Map<String, String> headers;
  private final @Nullable String auditReason;

  public GatewayException(int status, String errorType, String message) {
    this(status, errorType, message, Map.of(), Map.of(), null, null);
  }

  protected GatewayException(
      int status,
      String errorType,
      @Nullable String message,
      Map<String, Object> extraFields,
      Map<String, String> headers,
      @Nullable String auditReason,
      @Nullable Throwable cause) {
    super(message, cause, false, false);
    this.status = status;
    this.errorType = errorType;
    this.extraFields = Collections.unmodifiableMap(new LinkedHashMap<>(extraFields));
    this.headers = Collections.unmodifiableMap(new LinkedHashMap<>(headers));
    this.auditReason = auditReason;
  }

  public int status() {
    return status;
  }

  public String errorType() {
    return errorType;
  }

  /** Further fields of the error body, e.g. ModelError's OriginalStatusCode. */
  public Map<String, Object> extraFields() {
    return extraFields;
  }

  /** Further response headers, e.g. {@code WWW-Authenticate} or {@code Allow}. */
  public Map<String, String> headers() {
    return headers;
  }

  /** Operator-facing reason for the audit record and the log; never sent to the caller. */
  public @Nullable String auditReason() {
    return auditReason;
  }

  public GatewayException withField(String name, Object value) {
    Map<String, Object> fields = new LinkedHashMap<>(extraFields);
    fields.put(name, value);
    return new GatewayException(
        status, errorType, getMessage(), fields, headers, auditReason, getCause());
  }

  public GatewayException withHeader(String name, String value) {
    Map<String, String> h = new LinkedHashMap<>(headers);
    h.put(name, value);
    return new GatewayException(
        status, errorType, getMessage(), extraFields, h, auditReason, getCause());
  }

  public GatewayException withAuditReason(@Nullable String reason) {
    return new GatewayException(
        status, errorType, getMessage(), extraFields, headers, reason, getCause());
  }

  public GatewayException withCause(Throwable cause) {
    return new GatewayException(
        status, errorType, getMessage(), extraFields, headers, auditReason, cause);
  }
}
