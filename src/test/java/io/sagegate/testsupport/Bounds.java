package io.sagegate.testsupport;

import static java.util.concurrent.TimeUnit.SECONDS;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * Bounds on waits in tests. A test never waits on a future without one ({@code
 * future.await(AWAIT_SECONDS, SECONDS)} for a Vert.x future, {@link #join(CompletableFuture)} for a
 * {@code CompletableFuture}; never a bare {@code await()} or {@code join()}): a lost request then
 * fails the test instead of hanging the build. JUnit's default timeout ({@code
 * junit-platform.properties}) is the outer bound, but it cannot interrupt a {@code join()}.
 */
public final class Bounds {

  /** Longest wait for one asynchronous step (a server start, a close, a mode switch). */
  public static final long AWAIT_SECONDS = 60;

  private Bounds() {}

  /**
   * {@link CompletableFuture#join()} with a bound: the value, or the failure wrapped in a {@link
   * CompletionException} as join() gives it; a future still pending after {@link #AWAIT_SECONDS}
   * fails the test.
   */
  public static <T> T join(CompletableFuture<T> future) {
    try {
      return future.get(AWAIT_SECONDS, SECONDS);
    } catch (ExecutionException e) {
      throw new CompletionException(e.getCause());
    } catch (TimeoutException e) {
      throw new AssertionError("still pending after " + AWAIT_SECONDS + " s", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while waiting", e);
    }
  }
}
