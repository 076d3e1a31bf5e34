package io.sagegate.backend;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.timeout.ReadTimeoutException;
import io.vertx.core.VertxException;
import io.vertx.core.impl.NoStackTraceTimeoutException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;
import org.junit.jupiter.api.Test;

/**
 * The exceptions the Vert.x and Netty clients fail with, classified by type as both backends do.
 */
class UpstreamFailuresTest {

  @Test
  void aRefusedOrTimedOutConnectionIsAConnectFailure() {
    assertTrue(UpstreamFailures.isConnectFailure(new ConnectException("Connection refused")));
    assertTrue(
        UpstreamFailures.isConnectFailure(new ConnectTimeoutException("connection timed out")));
    assertTrue(
        UpstreamFailures.isConnectFailure(
            new VertxException(new ConnectException("Connection refused"))));
    assertFalse(UpstreamFailures.isConnectFailure(new NoStackTraceTimeoutException("idle")));
  }

  @Test
  void onlyAConnectTimeoutIsAConnectTimeout() {
    assertTrue(
        UpstreamFailures.isConnectTimeout(new ConnectTimeoutException("connection timed out")));
    assertFalse(UpstreamFailures.isConnectTimeout(new ConnectException("Connection refused")));
  }

  @Test
  void requestIdleAndReadTimeoutsAreTimeouts() {
    assertTrue(
        UpstreamFailures.isTimeout(
            new NoStackTraceTimeoutException("The timeout period of 100ms has been exceeded")));
    assertTrue(UpstreamFailures.isTimeout(ReadTimeoutException.INSTANCE));
    assertTrue(UpstreamFailures.isTimeout(new SocketTimeoutException("Read timed out")));
    assertFalse(UpstreamFailures.isTimeout(new ConnectException("Connection refused")));
    assertFalse(UpstreamFailures.isTimeout(new IllegalStateException("Timeout in its name only")));
  }
}
