package io.sagegate.auth;

import io.vertx.core.Future;
import org.jspecify.annotations.Nullable;

/**
 * Verifies a bearer token and maps it to a {@link Caller}. Fails with an {@link
 * AuthenticationException} naming the reason; never blocks the event loop.
 */
public interface Authenticator {

  /**
   * @param token the raw token (after {@code Bearer }), never logged
   */
  Future<Caller> authenticate(String token);

  /** True once signing keys are loaded; the readiness probe waits for it. */
  boolean ready();

  /**
   * The readiness contributor: null when ready, else why not (e.g. the identity provider could not
   * be reached), as {@code /readyz} and the log show it.
   */
  default @Nullable String notReadyReason() {
    return ready() ? null : "signing keys not loaded";
  }

  /** Stops background key refreshes. */
  default void close() {}
}
