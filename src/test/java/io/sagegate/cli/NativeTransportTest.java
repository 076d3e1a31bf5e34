package io.sagegate.cli;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The jar carries Netty's epoll library for both Linux server architectures, and it loads. */
class NativeTransportTest {

  @Test
  void epollLoadsOnLinuxServers() throws Exception {
    assumeTrue(System.getProperty("os.name").toLowerCase().contains("linux"), "not Linux");
    assumeTrue(
        Set.of("amd64", "x86_64", "aarch64").contains(System.getProperty("os.arch")),
        "no epoll library for " + System.getProperty("os.arch"));
    Vertx vertx = Vertx.vertx(new VertxOptions().setPreferNativeTransport(true));
    try {
      assertTrue(
          vertx.isNativeTransportEnabled(),
          () -> "native transport unavailable: " + vertx.unavailableNativeTransportCause());
    } finally {
      vertx.close().await(AWAIT_SECONDS, SECONDS);
    }
  }
}
