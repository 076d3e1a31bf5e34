package io.sagegate.limits;

import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;

/**
 * The refusals of admission control. {@code ThrottlingException} is the error type AWS SDKs' retry
 * modes (botocore's legacy, standard and adaptive) treat as throttling: they back off and retry,
 * and the adaptive mode slows its sending rate too.
 */
public final class LimitErrors {

  public static final String THROTTLING = "ThrottlingException";
  public static final String RETRY_AFTER = "Retry-After";

  public static final String CONCURRENCY = "limit:concurrency";
  public static final String COMPONENT_CONCURRENCY = "limit:component_concurrency";
  public static final String IN_FLIGHT = "limit:gateway_in_flight";
  public static final String QUOTA = "limit:quota";
  public static final String DAILY_QUOTA = "limit:daily_quota";
  public static final String STORE_UNAVAILABLE = "limit:store_unavailable";

  /** 429 ThrottlingException with {@code Retry-After} (whole seconds, at least 1). */
  public static GatewayException throttled(
      String message, long retryAfterSeconds, String auditReason) {
    return new GatewayException(429, THROTTLING, message)
        .withHeader(RETRY_AFTER, Long.toString(Math.max(1, retryAfterSeconds)))
        .withAuditReason(auditReason);
  }

  /** 503 ServiceUnavailable with {@code Retry-After}: the gateway as a whole is full. */
  public static GatewayException unavailable(
      String message, long retryAfterSeconds, String auditReason) {
    return Errors.serviceUnavailable(message)
        .withHeader(RETRY_AFTER, Long.toString(Math.max(1, retryAfterSeconds)))
        .withAuditReason(auditReason);
  }

  private LimitErrors() {}
}
