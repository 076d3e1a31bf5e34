package io.sagegate.backend;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.util.concurrent.TimeoutException;

/**
 * How both backends classify a failed upstream call, by exception type rather than by class name: a
 * connection that could not be made (refused, or timed out while connecting: Netty's {@code
 * ConnectTimeoutException} is a {@link ConnectException}), and a call that timed out once connected
 * (Vert.x's request and idle timeouts fail with a {@link TimeoutException}; Netty's read and write
 * timeouts with its own {@code TimeoutException}).
 */
public final class UpstreamFailures {

  private UpstreamFailures() {}

  /** The connection could not be made: refused, unreachable, or timed out while connecting. */
  public static boolean isConnectFailure(Throwable t) {
    return t instanceof ConnectException || t.getCause() instanceof ConnectException;
  }

  /** The connection timed out while being made (a subset of {@link #isConnectFailure}). */
  public static boolean isConnectTimeout(Throwable t) {
    return t instanceof io.netty.channel.ConnectTimeoutException
        || t.getCause() instanceof io.netty.channel.ConnectTimeoutException;
  }

  /** The call timed out after it was connected: no answer, or no data, in time. */
  public static boolean isTimeout(Throwable t) {
    return t instanceof TimeoutException
        || t instanceof SocketTimeoutException
        || t instanceof io.netty.handler.timeout.TimeoutException;
  }
}
