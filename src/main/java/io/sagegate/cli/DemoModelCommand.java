package io.sagegate.cli;

import io.sagegate.demo.DemoModelServer;
import io.vertx.core.Vertx;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sagegate demo-model}: the built-in demo model on its own, as a model container speaking
 * the SageMaker container contract. For local development against a {@code container} backend and
 * for the benchmarks, which call it directly, through nginx and through the gateway.
 */
@Command(
    name = "demo-model",
    mixinStandardHelpOptions = true,
    description =
        "Run the built-in demo model alone (SageMaker container contract: GET /ping, POST /invocations).")
public final class DemoModelCommand implements Callable<Integer> {

  @Option(names = "--port", description = "Port (default: ${DEFAULT-VALUE}).")
  int port = 8081;

  @Option(names = "--host", description = "Address to listen on (default: ${DEFAULT-VALUE}).")
  String host = "127.0.0.1";

  @Option(
      names = "--endpoint",
      description = "Endpoint name the answers carry (default: ${DEFAULT-VALUE}).")
  String endpoint = "sentiment-test";

  @Override
  public Integer call() throws Exception {
    Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setPreferNativeTransport(true));
    DemoModelServer server;
    try {
      server = DemoModelServer.start(vertx, endpoint, host, port).await();
    } catch (Exception e) {
      System.err.println(
          "demo model could not start on " + host + ":" + port + ": " + e.getMessage());
      vertx.close();
      return 1;
    }
    System.err.println("demo model serving on " + server.url() + " (GET /ping, POST /invocations)");
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  vertx.close().await();
                  stopped.countDown();
                }));
    stopped.await();
    return 0;
  }
}
