package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.ConfigWatcher;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.ReloadResult;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.HttpTracker;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway started without a {@code demo} endpoint gains its first one by a reload, without a
 * restart: the built-in demo model starts then, is shared by later demo endpoints and closes with
 * the gateway. Real servers throughout (gateway, demo model, a model container stub), over real
 * sockets; the watcher is driven with checkNow(), never by waiting for its timer. Which HTTP
 * servers exist is seen through Vert.x's metrics SPI.
 */
class DemoReloadIntegrationTest {

  @TempDir Path dir;
  private final HttpTracker http = new HttpTracker();
  private Vertx vertx;
  private ContainerStub model;
  private GatewayAssembly assembly;
  private ConfigWatcher watcher;
  private PrometheusMeterRegistry registry;
  private DevIssuer issuer;
  private Path file;

  @BeforeEach
  void start() throws Exception {
    vertx = http.vertx();
    model = ContainerStub.start(vertx).await(AWAIT_SECONDS, SECONDS);
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    issuer = DevIssuer.loadOrCreate(dir.resolve("keys"));
    file = dir.resolve("gateway.yaml");
    Files.writeString(file, config());
    GatewayConfig config = ConfigLoader.load(file);
    assembly =
        GatewayAssembly.start(
                vertx, config, registry, new RecordingAuditSink(), dir.resolve("keys"))
            .await(AWAIT_SECONDS, SECONDS);
    watcher =
        ConfigWatcher.startAsync(
            vertx, file, config, assembly::reload, registry, Duration.ofHours(1));
  }

  @AfterEach
  void stop() throws Exception {
    watcher.close();
    if (assembly != null) {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
    }
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private String config(String... demoEndpoints) {
    StringBuilder endpoints = new StringBuilder();
    for (String name : demoEndpoints) {
      endpoints.append("  - {name: ").append(name).append(", backend: {type: demo}}\n");
    }
    return """
        server: {port: 0, managementPort: 0}
        auth: {devIssuer: true}
        endpoints:
          - {name: local-model, backend: {type: container, url: "%s"}}
        %srules:
          - {id: risk-team, effect: allow, principal: {groups: [risk]}}
        """
        .formatted(model.url(), endpoints);
  }

  private HttpResponse<String> invoke(String endpoint) {
    String token =
        issuer.mint("alice", List.of("risk"), List.of(), null, Duration.ofMinutes(5), Map.of());
    return HttpCalls.send(
        HttpCalls.post(
            assembly.gateway().port(),
            "/endpoints/" + endpoint + "/invocations",
            token,
            "{\"text\":\"great product\"}"));
  }

  @Test
  void aReloadAddsTheFirstDemoEndpointWithoutRestart() throws Exception {
    assertEquals(200, invoke("local-model").statusCode());
    assertEquals(403, invoke("new-demo").statusCode(), "unknown before the reload");
    int serversBefore = http.servers().size();

    Files.writeString(file, config("new-demo"));
    ReloadResult result = watcher.checkNow().await(AWAIT_SECONDS, SECONDS);
    assertEquals(ReloadResult.Status.RELOADED, result.status(), result.errors().toString());

    HttpResponse<String> answer = invoke("new-demo");
    assertEquals(200, answer.statusCode(), answer.body());
    assertTrue(
        answer.body().contains("\"endpoint\":\"new-demo\"")
            && answer.body().contains("\"model\":\"sagegate-demo\"")
            && answer.body().contains("\"label\":\"POSITIVE\""),
        answer.body());
    assertEquals(200, invoke("local-model").statusCode(), "the container endpoint keeps serving");
    List<HttpTracker.Server> started = http.servers().subList(serversBefore, http.servers().size());
    assertEquals(1, started.size(), "the demo model, and nothing else, started: " + started);
    assertEquals(
        "127.0.0.1", started.get(0).address().host(), "the demo model listens on loopback only");

    // A later reload adds a second demo endpoint to the same demo model.
    Files.writeString(file, config("new-demo", "second-demo"));
    assertEquals(
        ReloadResult.Status.RELOADED, watcher.checkNow().await(AWAIT_SECONDS, SECONDS).status());
    HttpResponse<String> second = invoke("second-demo");
    assertEquals(200, second.statusCode(), second.body());
    assertTrue(second.body().contains("\"endpoint\":\"second-demo\""), second.body());
    assertEquals(serversBefore + 1, http.servers().size(), "no second demo model");
    assertEquals(2.0, registry.get(ConfigWatcher.RELOADS).tag("result", "ok").counter().count());

    // The demo model started by the reload closes with the gateway.
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    assembly = null;
    started.get(0).closed().future().await(5, TimeUnit.SECONDS);
  }
}
