package io.sagegate.error;

import org.jspecify.annotations.Nullable;

/**
 * The errors the gateway answers with. Types and statuses follow SageMaker Runtime where they
 * overlap (ValidationError 400, ModelError 424, ModelNotReadyException 429, ServiceUnavailable 503,
 * InternalFailure 500, InternalDependencyException 530); the gateway's own failures use their
 * conventional HTTP statuses.
 */
public final class Errors {

  public static final String VALIDATION_ERROR = "ValidationError";
  public static final String MODEL_ERROR = "ModelError";
  public static final String MODEL_NOT_READY = "ModelNotReadyException";
  public static final String SERVICE_UNAVAILABLE = "ServiceUnavailable";
  public static final String INTERNAL_FAILURE = "InternalFailure";
  public static final String INTERNAL_DEPENDENCY = "InternalDependencyException";
  public static final String ACCESS_DENIED = "AccessDeniedException";
  public static final String UNAUTHORIZED = "UnauthorizedException";
  public static final String PAYLOAD_TOO_LARGE = "PayloadTooLargeException";
  public static final String HEADERS_TOO_LARGE = "RequestHeaderFieldsTooLargeException";
  public static final String UNKNOWN_OPERATION = "UnknownOperationException";
  public static final String METHOD_NOT_ALLOWED = "MethodNotAllowedException";
  public static final String UNSUPPORTED_MEDIA_TYPE = "UnsupportedMediaTypeException";
  public static final String BAD_GATEWAY = "BadGatewayException";

  /** The exception event that ends a response stream cut off upstream (after the 200). */
  public static final String INTERNAL_STREAM_FAILURE = "InternalStreamFailure";

  public static final String GATEWAY_TIMEOUT = "GatewayTimeoutException";

  /** 408: the request (its headers) did not arrive in time. SageMaker has no such answer. */
  public static final String REQUEST_TIMEOUT = "RequestTimeoutException";

  /** 505: an HTTP version other than 1.0 and 1.1 (or 2 where it is configured). */
  public static final String HTTP_VERSION_NOT_SUPPORTED = "HttpVersionNotSupportedException";

  /**
   * The one answer for an unknown endpoint and for a forbidden one, so that endpoint names cannot
   * be probed.
   */
  public static GatewayException accessDenied(String endpointName, String action) {
    return new GatewayException(
        403,
        ACCESS_DENIED,
        "Caller is not authorized to perform " + action + " on endpoint " + endpointName);
  }

  public static GatewayException validation(String message) {
    return new GatewayException(400, VALIDATION_ERROR, message);
  }

  public static GatewayException payloadTooLarge(long limitBytes) {
    return new GatewayException(
        413, PAYLOAD_TOO_LARGE, "Request body exceeds the limit of " + limitBytes + " bytes");
  }

  public static GatewayException badGateway(String message) {
    return new GatewayException(502, BAD_GATEWAY, message);
  }

  public static GatewayException gatewayTimeout(String message) {
    return new GatewayException(504, GATEWAY_TIMEOUT, message);
  }

  public static GatewayException serviceUnavailable(String message) {
    return new GatewayException(503, SERVICE_UNAVAILABLE, message);
  }

  public static GatewayException internal() {
    return new GatewayException(500, INTERNAL_FAILURE, "The gateway failed to process the request");
  }

  /**
   * The model answered with an error status. {@code originalMessage} is the model's own answer,
   * which SageMaker passes to callers too (truncated); infrastructure error text never is.
   */
  public static GatewayException modelError(
      int originalStatus, String originalMessage, @Nullable String logStreamArn) {
    GatewayException e =
        new GatewayException(
                424,
                MODEL_ERROR,
                "Received client error ("
                    + originalStatus
                    + ") from model with message \""
                    + originalMessage
                    + "\"")
            .withField("OriginalStatusCode", originalStatus)
            .withField("OriginalMessage", originalMessage);
    return logStreamArn == null ? e : e.withField("LogStreamArn", logStreamArn);
  }

  private Errors() {}
}
