package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.ConfigWatcher;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.ReloadResult;
import io.sagegate.testsupport.RecordingAuditSink;
import io.sagegate.testsupport.StderrCapture;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The AWS SDK clients (STS, the HTTP client, the credentials and region chains) take seconds to
 * build, so they are built on a worker thread: neither a start with a {@code sagemaker} endpoint
 * nor a reload that adds the first one blocks an event loop. Vert.x's blocked-thread checker is set
 * tight (200 ms, with the stack trace) and no warning may point into the AWS path.
 */
class AwsClientsOffEventLoopTest {

  @TempDir Path dir;

  @BeforeAll
  static void credentials() {
    System.setProperty("aws.accessKeyId", "AKIAOFFLOOPTEST00001");
    System.setProperty("aws.secretAccessKey", "off-loop-secret");
  }

  @AfterAll
  static void clear() {
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
  }

  private static Vertx strictVertx() {
    return Vertx.vertx(
        new VertxOptions()
            .setBlockedThreadCheckInterval(20)
            .setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
            .setMaxEventLoopExecuteTime(200)
            .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS)
            .setWarningExceptionTime(200)
            .setWarningExceptionTimeUnit(TimeUnit.MILLISECONDS));
  }

  private static final String AWS =
      """
      aws:
        region: eu-west-1
        accountId: "111122223333"
        stsEndpoint: http://127.0.0.1:9
        sagemakerRuntimeEndpoint: http://127.0.0.1:9
        externalId: off-loop
      """;

  private static String config(boolean sagemaker) {
    return """
        server: {port: 0, managementPort: 0}
        auth: {devIssuer: true}
        %s
        endpoints:
          - {name: local-model, backend: {type: container, url: "http://127.0.0.1:9", timeout: 5s}}
        %s
        rules:
          - {id: risk-team, effect: allow, principal: {groups: [risk]}}
        """
        .formatted(
            AWS,
            sagemaker
                ? "  - {name: fraud-scorer, backend: {type: sagemaker, roleArn: \"arn:aws:iam::111122223333:role/invoke\"}}"
                : "");
  }

  /** Blocked-thread warnings whose stack trace is in the AWS path. */
  static List<String> awsBlocks(String stderr) {
    List<String> found = new ArrayList<>();
    int at = stderr.indexOf("has been blocked for");
    while (at >= 0) {
      int next = stderr.indexOf("has been blocked for", at + 1);
      String block = stderr.substring(at, next < 0 ? stderr.length() : next);
      if (block.contains("software.amazon.awssdk") || block.contains("io.sagegate.aws.")) {
        found.add(block.lines().limit(12).reduce("", (a, b) -> a + b + "\n"));
      }
      at = next;
    }
    return found;
  }

  @Test
  void aReloadThatAddsTheFirstSageMakerEndpointDoesNotBlockTheEventLoop() throws Exception {
    Vertx vertx = strictVertx();
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(file, config(false));
    GatewayConfig config = ConfigLoader.load(file);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (StderrCapture err = StderrCapture.start()) {
      GatewayAssembly assembly =
          GatewayAssembly.start(
                  vertx, config, registry, new RecordingAuditSink(), dir.resolve("keys"))
              .await(AWAIT_SECONDS, SECONDS);
      ConfigWatcher watcher =
          ConfigWatcher.startAsync(
              vertx, file, config, assembly::reload, registry, Duration.ofHours(1));
      try {
        Files.writeString(file, config(true));
        ReloadResult result = watcher.checkNow().await(AWAIT_SECONDS, SECONDS);
        assertEquals(ReloadResult.Status.RELOADED, result.status(), result.errors().toString());
        assertTrue(assembly.gateway().state().endpoint("fraud-scorer") != null);
      } finally {
        watcher.close();
        assembly.close().await(AWAIT_SECONDS, SECONDS);
        vertx.close().await(AWAIT_SECONDS, SECONDS);
      }
      assertEquals(List.of(), awsBlocks(err.text()), "no event loop waited for the AWS clients");
    }
  }

  @Test
  void aStartWithASageMakerEndpointDoesNotBlockTheEventLoop() throws Exception {
    Vertx vertx = strictVertx();
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(file, config(true));
    GatewayConfig config = ConfigLoader.load(file);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    try (StderrCapture err = StderrCapture.start()) {
      // Started from an event loop, as a reload or a verticle would.
      io.vertx.core.Promise<GatewayAssembly> started = io.vertx.core.Promise.promise();
      vertx.runOnContext(
          x ->
              GatewayAssembly.start(
                      vertx, config, registry, new RecordingAuditSink(), dir.resolve("keys"))
                  .onComplete(started));
      GatewayAssembly assembly = started.future().await(AWAIT_SECONDS, SECONDS);
      try {
        assertTrue(assembly.gateway().state().endpoint("fraud-scorer") != null);
      } finally {
        assembly.close().await(AWAIT_SECONDS, SECONDS);
        vertx.close().await(AWAIT_SECONDS, SECONDS);
      }
      assertEquals(List.of(), awsBlocks(err.text()), "no event loop waited for the AWS clients");
    }
  }
}
