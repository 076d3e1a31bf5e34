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
import io.sagegate.config.ReloadResult;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rules reload without a restart, and a malformed file on reload is refused while the last good
 * rules keep serving. The watcher is driven with checkNow(), never by waiting for its timer.
 */
class ConfigReloadIntegrationTest {

  @TempDir Path dir;
  private Vertx vertx;
  private GatewayAssembly assembly;
  private ConfigWatcher watcher;
  private PrometheusMeterRegistry registry;
  private DevIssuer issuer;
  private Path file;

  private static final String BASE =
      """
      server: {port: 0, managementPort: 0}
      auth: {devIssuer: true}
      endpoints:
        - name: sentiment-test
          tags: {env: test}
          backend: {type: demo}
      rules:
        - id: data-scientists-test
          effect: allow
          principal: {groups: [data-scientists]}
          resource: {tags: {env: [test]}}
      """;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    issuer = DevIssuer.loadOrCreate(dir.resolve("keys"));
    file = dir.resolve("gateway.yaml");
    Files.writeString(file, BASE);
    var config = ConfigLoader.load(file);
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
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private int call(List<String> groups) {
    String token = issuer.mint("erin", groups, List.of(), null, Duration.ofMinutes(5), Map.of());
    HttpResponse<String> r =
        HttpCalls.send(
            HttpCalls.post(
                assembly.gateway().port(),
                "/endpoints/sentiment-test/invocations",
                token,
                "{\"text\":\"good\"}"));
    return r.statusCode();
  }

  @Test
  void newRulesApplyAndABadFileKeepsTheLastGoodOnes() throws Exception {
    assertEquals(403, call(List.of("analysts")));

    Files.writeString(
        file,
        BASE
            + """
          - id: analysts-test
            effect: allow
            principal: {groups: [analysts]}
        """);
    assertEquals(
        ReloadResult.Status.RELOADED, watcher.checkNow().await(AWAIT_SECONDS, SECONDS).status());
    assertEquals(200, call(List.of("analysts")));

    Files.writeString(file, BASE + "  - id: broken\n    effect: [not, an, effect\n");
    ReloadResult rejected = watcher.checkNow().await(AWAIT_SECONDS, SECONDS);
    assertEquals(ReloadResult.Status.REJECTED, rejected.status());
    assertTrue(!rejected.errors().isEmpty());
    assertEquals(200, call(List.of("analysts")), "the last good rules keep serving");
    assertTrue(
        registry.scrape().contains("sagegate_config_reloads_total{result=\"failed\"} 1.0"),
        registry.scrape());
  }

  @Test
  void endpointsReloadToo() throws Exception {
    assertEquals(200, call(List.of("data-scientists")));
    Files.writeString(file, BASE.replace("name: sentiment-test", "name: renamed-endpoint"));
    assertEquals(
        ReloadResult.Status.RELOADED, watcher.checkNow().await(AWAIT_SECONDS, SECONDS).status());
    assertEquals(403, call(List.of("data-scientists")), "a removed endpoint is unknown, hence 403");
  }
}
