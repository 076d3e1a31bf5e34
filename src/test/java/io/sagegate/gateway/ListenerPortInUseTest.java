package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.GatewayConfig;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A port already in use names the port and the listener (traffic or management) that wanted it. */
class ListenerPortInUseTest {

  @TempDir Path dir;
  private Vertx vertx;
  private ServerSocket taken;

  @BeforeEach
  void take() throws Exception {
    vertx = Vertx.vertx();
    taken = new ServerSocket();
    taken.bind(new InetSocketAddress("0.0.0.0", 0));
  }

  @AfterEach
  void release() throws Exception {
    taken.close();
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private String startFailure(String server) throws Exception {
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(
        file,
        """
        server: %s
        auth: {devIssuer: true}
        endpoints:
          - {name: local-model, backend: {type: container, url: "http://127.0.0.1:9"}}
        """
            .formatted(server));
    GatewayConfig config = ConfigLoader.load(file);
    Exception e =
        assertThrows(
            Exception.class,
            () ->
                GatewayAssembly.start(
                        vertx,
                        config,
                        new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                        new RecordingAuditSink(),
                        dir.resolve("keys"))
                    .await(AWAIT_SECONDS, SECONDS));
    return e.getMessage();
  }

  @Test
  void trafficPortInUse() throws Exception {
    int port = taken.getLocalPort();
    String message = startFailure("{port: " + port + ", managementPort: 0}");
    assertTrue(
        message.contains("traffic listener")
            && message.contains("port " + port)
            && message.contains("already in use"),
        message);
  }

  @Test
  void managementPortInUse() throws Exception {
    int port = taken.getLocalPort();
    String message = startFailure("{port: 0, managementPort: " + port + "}");
    assertTrue(
        message.contains("management listener")
            && message.contains("port " + port)
            && message.contains("already in use"),
        message);
  }
}
