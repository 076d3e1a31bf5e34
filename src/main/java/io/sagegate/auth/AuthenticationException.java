package io.sagegate.auth;

import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import java.util.Map;

/**
 * A bearer token was missing or not accepted. Answers 401 with {@code WWW-Authenticate: Bearer
 * error=...} (RFC 6750). {@link #reason()} is a short fixed word used as a metric label.
 */
public final class AuthenticationException extends GatewayException {

  /** Bounded set of reasons: the values of the auth-failure metric label. */
  public enum Reason {
    MISSING("missing"),
    MALFORMED("malformed"),
    TOO_LARGE("too_large"),
    ALGORITHM("algorithm"),
    UNKNOWN_KID("unknown_kid"),
    SIGNATURE("signature"),
    EXPIRED("expired"),
    NOT_YET_VALID("not_yet_valid"),
    ISSUER("issuer"),
    AUDIENCE("audience"),
    CLAIMS("claims"),
    /** A registered time claim (exp, nbf, iat) that is not a number, or an iat in the future. */
    INVALID_CLAIMS("invalid_claims"),
    /** The header marks parameters critical ({@code crit}) that the gateway does not understand. */
    UNSUPPORTED_CRIT("unsupported_crit"),
    KEYS_UNAVAILABLE("keys_unavailable");

    private final String label;

    Reason(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  private final Reason reason;

  public AuthenticationException(Reason reason, String message) {
    super(
        401,
        Errors.UNAUTHORIZED,
        message,
        Map.of(),
        Map.of("WWW-Authenticate", wwwAuthenticate(reason, message)),
        "authentication:" + reason.label(),
        null);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }

  private static String wwwAuthenticate(Reason reason, String message) {
    if (reason == Reason.MISSING) {
      // RFC 6750 3.1: no error code when the request carried no credentials at all.
      return "Bearer realm=\"sagegate\"";
    }
    String description = message.replace('"', '\'').replace('\\', '/');
    return "Bearer realm=\"sagegate\", error=\"invalid_token\", error_description=\""
        + description
        + "\"";
  }
}
