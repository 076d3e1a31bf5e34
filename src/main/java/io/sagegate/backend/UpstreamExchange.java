package io.sagegate.backend;

import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import org.jspecify.annotations.Nullable;

/**
 * One exchange with an upstream (a model container, SageMaker Runtime), as both backends run it:
 * its result, its request once made, its whole-call deadline (the exchange is its own {@link
 * CallDeadlines} entry, so arming it allocates nothing) and what ends it early. What ends an
 * exchange early is the same for both backends:
 *
 * <ul>
 *   <li>the caller leaves before the answer ({@link #abandonWhenCallerLeaves}): the exchange fails
 *       and its request is reset, so the upstream sees the connection go instead of working on for
 *       nobody (nginx's default, {@code proxy_ignore_client_abort off});
 *   <li>the deadline passes ({@link #expired()}): the exchange fails with {@link #timedOut()} and
 *       its request is reset;
 *   <li>either happened while a connection was being found ({@link #requestMade}): the new request
 *       is reset at once.
 * </ul>
 *
 * Its callbacks run on the Vert.x context the exchange was armed on.
 *
 * @param <T> what the exchange succeeds with
 */
public abstract class UpstreamExchange<T> extends CallDeadlines.Entry {

  private final CallDeadlines deadlines;
  private final Promise<T> result = Promise.promise();

  /** Volatile: a call started off a Vert.x thread (a test) sets it on another thread. */
  private volatile @Nullable HttpClientRequest request;

  protected UpstreamExchange(CallDeadlines deadlines) {
    this.deadlines = deadlines;
  }

  public final Future<T> future() {
    return result.future();
  }

  /** True once the exchange succeeded or failed; what arrives later is ignored. */
  public final boolean ended() {
    return result.future().isComplete();
  }

  /** Starts the whole-call deadline, on the current context. */
  protected final void arm() {
    deadlines.arm(this);
  }

  /** Stops the deadline: the answer (or a stream's head) is in. */
  protected final void disarm() {
    deadlines.disarm(this);
  }

  /**
   * Fails the exchange with the error of a caller that left, and resets its request, when {@code
   * callerGone} completes before the exchange ended.
   *
   * @param callerGone completes when the caller's connection closes; null for none
   * @param auditReason the backend's own reason, e.g. {@code backend:caller_gone}
   */
  protected final void abandonWhenCallerLeaves(
      @Nullable Future<Void> callerGone, String endpoint, String auditReason) {
    if (callerGone == null) {
      return;
    }
    callerGone.onComplete(
        v -> {
          if (result.tryFail(
              Errors.badGateway("The caller went away before endpoint " + endpoint + " answered")
                  .withAuditReason(auditReason))) {
            disarm();
            abort();
          }
        });
  }

  /**
   * Records the request once the client made it, and resets it at once when the exchange ended
   * while a connection was being found.
   *
   * @return false when the exchange has ended and the request was reset
   */
  protected final boolean requestMade(HttpClientRequest req) {
    request = req;
    if (ended()) {
      req.reset();
      return false;
    }
    return true;
  }

  /** Resets the request, if one was made (resetting an ended request does nothing). */
  protected final void abort() {
    if (request != null) {
      request.reset();
    }
  }

  /** Succeeds with {@code value}; false when the exchange had already ended. */
  protected final boolean succeed(T value) {
    return result.tryComplete(value);
  }

  /** Fails with {@code error}; false when the exchange had already ended. */
  protected final boolean fail(Throwable error) {
    return result.tryFail(error);
  }

  /**
   * A streamed answer's head is in: the whole-call deadline ends and from now on the request's idle
   * timeout bounds the gaps between chunks (each chunk restarts it), not the whole stream. Succeeds
   * with {@code value}, or resets the request when the exchange had ended meanwhile.
   */
  protected final void streamFrom(HttpClientResponse resp, long idleTimeoutMs, T value) {
    disarm();
    HttpClientRequest req = resp.request();
    req.idleTimeout(idleTimeoutMs);
    if (!result.tryComplete(value)) {
      req.reset();
    }
  }

  /** The error of an exchange whose deadline passed. */
  protected abstract GatewayException timedOut();

  @Override
  protected void expired() {
    if (!ended() && result.tryFail(timedOut())) {
      abort();
    }
  }
}
