package io.sagegate.metrics;

import io.sagegate.audit.AuditRecord;
import org.jspecify.annotations.Nullable;

/**
 * Who caused a failed request, as the dashboard and the SLO alerts need it: a bounded set of words
 * derived from the audit record's status, error type and reason (never from free text).
 *
 * <p>{@link #GATEWAY} and {@link #CREDENTIALS} are what the gateway itself causes (its own failure;
 * STS, the gateway's dependency, failing or refusing): the availability SLO counts only those. A
 * model's errors, SageMaker's answers, a slow backend and callers' mistakes are counted too, each
 * in its class, but do not burn the gateway's error budget.
 */
public final class ErrorClass {

  /** The caller's token was missing or not valid (401). */
  public static final String AUTHENTICATION = "authentication";

  /** No rule allowed the call, or a rule denied it (403). */
  public static final String AUTHORIZATION = "authorization";

  /** A malformed request: path, method, header, size (400, 404, 405, 413, 414, 415, 431). */
  public static final String VALIDATION = "validation";

  /** The backend asked the caller to slow down (429). */
  public static final String THROTTLING = "throttling";

  /** The model answered with an error (424 ModelError). */
  public static final String MODEL_ERROR = "model_error";

  /** The backend (model container or SageMaker) failed or answered garbage (5xx, a cut stream). */
  public static final String BACKEND_5XX = "backend_5xx";

  /** The backend did not answer in time (504). */
  public static final String TIMEOUT = "timeout";

  /** STS failed or refused the gateway's role assumption: the gateway's own dependency. */
  public static final String CREDENTIALS = "credentials";

  /** The gateway itself failed (500 InternalFailure, any other 5xx it originated). */
  public static final String GATEWAY = "gateway";

  /** The caller went away before the answer ended. */
  public static final String CLIENT_CLOSED = "client_closed";

  /** Any other 4xx. */
  public static final String OTHER = "other";

  /** The class of a failed request, or null when the request did not fail. */
  public static @Nullable String of(AuditRecord r) {
    String type = r.errorType();
    String reason = r.errorReason() == null ? "" : r.errorReason();
    if (type == null && r.status() < 400) {
      return null;
    }
    if ("ClientClosedRequest".equals(type) || reason.startsWith("caller:") || r.status() == 499) {
      return CLIENT_CLOSED;
    }
    if (reason.startsWith("sts:")) {
      return CREDENTIALS;
    }
    if ("UnauthorizedException".equals(type) || r.status() == 401) {
      return AUTHENTICATION;
    }
    if ("AccessDeniedException".equals(type) || r.status() == 403) {
      return AUTHORIZATION;
    }
    if ("ModelError".equals(type) || r.status() == 424) {
      return MODEL_ERROR;
    }
    if ("ModelNotReadyException".equals(type) || r.status() == 429) {
      return THROTTLING;
    }
    if ("GatewayTimeoutException".equals(type)
        || r.status() == 504
        || reason.endsWith(":timeout")
        || reason.endsWith(":connect_timeout")) {
      return TIMEOUT;
    }
    if (reason.startsWith("backend:")
        || reason.startsWith("sagemaker:")
        || reason.startsWith("stream:")
        || "BadGatewayException".equals(type)
        || "InternalStreamFailure".equals(type)
        || "InternalDependencyException".equals(type)) {
      return BACKEND_5XX;
    }
    if (r.status() >= 500) {
      return GATEWAY;
    }
    if (r.status() >= 400) {
      return VALIDATION_STATUSES.contains(r.status()) || "ValidationError".equals(type)
          ? VALIDATION
          : OTHER;
    }
    // An error recorded on a response whose head was already sent (a 200 stream) by the gateway.
    return GATEWAY;
  }

  private static final java.util.Set<Integer> VALIDATION_STATUSES =
      java.util.Set.of(400, 404, 405, 413, 414, 415, 431);

  private ErrorClass() {}
}
