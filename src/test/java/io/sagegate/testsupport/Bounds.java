package io.sagegate.testsupport;

/**
 * Bounds on waits in tests. A test never waits on a Vert.x future without one ({@code
 * future.await(AWAIT_SECONDS, SECONDS)}, never a bare {@code future.await()}): a lost request then
 * fails the test with a TimeoutException instead of hanging the build. JUnit's default timeout
 * ({@code junit-platform.properties}) is the outer bound.
 */
public final class Bounds {

  /** Longest wait for one asynchronous step (a server start, a close, a mode switch). */
  public static final long AWAIT_SECONDS = 60;

  private Bounds() {}
}
