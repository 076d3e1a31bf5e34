package io.sagegate.gateway.stage;

import io.sagegate.auth.AuthenticationException;
import io.sagegate.auth.AuthenticationException.Reason;
import io.sagegate.auth.Authenticator;
import io.sagegate.auth.Caller;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.vertx.core.Future;
import io.vertx.core.http.HttpHeaders;
import java.util.List;

/**
 * Takes the bearer token from {@code Authorization} and has the authenticator verify it. The body
 * is held back while a token is verified asynchronously (a cached token is not). The token itself
 * is never stored, logged or audited: only the caller's subject, issuer and token id.
 */
public final class Authentication implements Stage {

  private static final String BEARER = "bearer ";

  private final Authenticator authenticator;

  public Authentication(Authenticator authenticator) {
    this.authenticator = authenticator;
  }

  @Override
  public void handle(Exchange ex) {
    String token;
    try {
      token = bearerToken(ex.request().headers().getAll(HttpHeaders.AUTHORIZATION));
    } catch (AuthenticationException e) {
      ex.fail(e);
      return;
    }
    Future<Caller> verified = authenticator.authenticate(token);
    if (!verified.isComplete()) {
      ex.holdBody();
    }
    verified.onComplete(
        ar -> {
          if (ar.failed()) {
            ex.fail(ar.cause());
            return;
          }
          Caller caller = ar.result();
          ex.caller(caller);
          ex.audit().caller(caller);
          ex.next();
        });
  }

  static String bearerToken(List<String> authorization) {
    if (authorization.isEmpty()) {
      throw new AuthenticationException(
          Reason.MISSING, "Authorization header with a Bearer token is required");
    }
    if (authorization.size() > 1) {
      throw new AuthenticationException(
          Reason.MALFORMED, "Only one Authorization header is allowed");
    }
    String value = authorization.get(0);
    if (value.length() < BEARER.length()
        || !value.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      throw new AuthenticationException(
          Reason.MALFORMED, "Authorization header must use the Bearer scheme");
    }
    String token = value.substring(BEARER.length()).trim();
    if (token.isEmpty()) {
      throw new AuthenticationException(Reason.MALFORMED, "Bearer token is empty");
    }
    if (!token68(token)) {
      // RFC 6750 2.1: "Bearer" 1*SP b64token, and nothing after it (no second token, no list).
      throw new AuthenticationException(
          Reason.MALFORMED,
          "Authorization header must be Bearer followed by exactly one token and nothing else");
    }
    return token;
  }

  /**
   * RFC 7235's token68 (RFC 6750's b64token): {@code 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
   * "+" / "/" ) *"="}.
   */
  private static boolean token68(String token) {
    int end = token.length();
    while (end > 0 && token.charAt(end - 1) == '=') {
      end--;
    }
    if (end == 0) {
      return false;
    }
    for (int i = 0; i < end; i++) {
      char c = token.charAt(i);
      if (!((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '.'
          || c == '_'
          || c == '~'
          || c == '+'
          || c == '/')) {
        return false;
      }
    }
    return true;
  }
}
