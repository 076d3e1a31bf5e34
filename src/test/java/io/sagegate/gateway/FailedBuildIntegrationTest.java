package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.authz.PolicyEngine;
import io.sagegate.backend.Backends;
import io.sagegate.backend.container.ContainerBackendFactory;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.HttpTracker;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A configuration whose backends cannot all be built leaks none of those it did build: a reload
 * that fails part-way closes the backends it built for itself (their HTTP clients, hence their
 * connection pools and health pings) and the last good configuration keeps serving; a start that
 * fails the same way closes them too. Real servers throughout (gateway, model container stub); that
 * the clients were closed is seen through Vert.x's metrics SPI, which reports every HTTP client's
 * creation and closing.
 *
 * <p>The failure is a real one: a container URL whose port is out of range, which the container
 * backend refuses when it is built. {@code check} and the reload's own validation refuse that URL
 * before anything is built, so these tests hand such a configuration to the assembly directly, as
 * the first thing past validation that can fail would reach it.
 */
class FailedBuildIntegrationTest {

  /** The container backend refuses it when it is built (validation would refuse it first). */
  private static final String UNBUILDABLE_URL = "http://model-server:99999";

  /** Stands in for {@link #UNBUILDABLE_URL} in the YAML, so that the configuration parses. */
  private static final String PLACEHOLDER_URL = "http://unbuildable.invalid:1";

  @TempDir Path dir;
  private final HttpTracker clients = new HttpTracker();
  private Vertx vertx;
  private ContainerStub model;
  private GatewayAssembly assembly;
  private PrometheusMeterRegistry registry;

  @BeforeEach
  void startModel() throws Exception {
    vertx = clients.vertx();
    model = ContainerStub.start(vertx).await(AWAIT_SECONDS, SECONDS);
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  @AfterEach
  void stop() throws Exception {
    if (assembly != null) {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
    }
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private String config(String... extraEndpoints) {
    StringBuilder endpoints = new StringBuilder();
    for (String e : extraEndpoints) {
      endpoints.append("  - ").append(e).append('\n');
    }
    return """
        server: {port: 0, managementPort: 0}
        auth: {devIssuer: true}
        endpoints:
          - {name: local-model, backend: {type: container, url: "%1$s"}}
        %2$srules:
          - {id: risk-team, effect: allow, principal: {groups: [risk]}}
        """
        .formatted(model.url(), endpoints);
  }

  private String container(String name, String url) {
    return "{name: " + name + ", backend: {type: container, url: \"" + url + "\"}}";
  }

  /** The YAML parsed and validated, then each placeholder URL swapped for the unbuildable one. */
  private static GatewayConfig unbuildable(String yaml) throws Exception {
    GatewayConfig valid = ConfigLoader.parse(yaml, "test.yaml");
    List<EndpointConfig> endpoints =
        valid.endpoints().stream()
            .map(
                e -> {
                  BackendConfig b = e.backend();
                  return !PLACEHOLDER_URL.equals(b.url())
                      ? e
                      : new EndpointConfig(
                          e.name(),
                          e.tags(),
                          new BackendConfig(
                              b.type(),
                              UNBUILDABLE_URL,
                              b.connectTimeout(),
                              b.timeout(),
                              b.maxConnections(),
                              b.variant(),
                              b.roleArn(),
                              b.asyncInputPrefixes()));
                })
            .toList();
    return new GatewayConfig(
        valid.server(), valid.auth(), valid.audit(), valid.aws(), endpoints, valid.rules());
  }

  private int invoke(DevIssuer issuer, String endpoint) {
    String token =
        issuer.mint("alice", List.of("risk"), List.of(), null, Duration.ofMinutes(5), Map.of());
    return HttpCalls.send(
            HttpCalls.post(
                assembly.gateway().port(),
                "/endpoints/" + endpoint + "/invocations",
                token,
                "{\"text\":\"great\"}"))
        .statusCode();
  }

  @Test
  void aReloadThatFailsPartWayClosesTheBackendsItBuilt() throws Exception {
    DevIssuer issuer = DevIssuer.loadOrCreate(dir.resolve("keys"));
    GatewayConfig started = ConfigLoader.parse(config(), "test.yaml");
    assembly =
        GatewayAssembly.start(
                vertx, started, registry, new RecordingAuditSink(), dir.resolve("keys"))
            .await(AWAIT_SECONDS, SECONDS);
    assertEquals(200, invoke(issuer, "local-model"));

    // The second of three new endpoints cannot be built: the first was built by then.
    GatewayConfig next =
        unbuildable(
            config(
                container("first-new", model.url().toString()),
                container("second-new", PLACEHOLDER_URL),
                container("third-new", model.url().toString())));
    int mark = clients.created();
    Exception e =
        assertThrows(Exception.class, () -> assembly.reload(next).await(AWAIT_SECONDS, SECONDS));

    assertTrue(e.getMessage().contains("second-new"), e.getMessage());
    assertEquals(
        1, clients.createdSince(mark).size(), "first-new's backend was built, and only it");
    clients.allClosedSince(mark).await(5, TimeUnit.SECONDS); // times out if one stays open
    assertEquals(200, invoke(issuer, "local-model"), "the last good configuration keeps serving");
    assertEquals(403, invoke(issuer, "first-new"), "not added: unknown, hence 403");
    assertFalse(clients.createdSince(0).get(0).isClosed(), "local-model's backend is still in use");
  }

  /**
   * The refused reload had also started the demo model and built the AWS path (its SageMaker
   * client) for its first demo and sagemaker endpoints; nothing that serves uses them, so they go
   * too, and a later reload starts the demo model anew.
   */
  @Test
  void aRefusedReloadStopsWhatItStartedForItself() throws Exception {
    DevIssuer issuer = DevIssuer.loadOrCreate(dir.resolve("keys"));
    String aws =
        """
        aws: {region: eu-west-1, stsEndpoint: "http://127.0.0.1:9", sagemakerRuntimeEndpoint: "http://127.0.0.1:9"}
        """;
    GatewayConfig started = ConfigLoader.parse(aws + config(), "test.yaml");
    assembly =
        GatewayAssembly.start(
                vertx, started, registry, new RecordingAuditSink(), dir.resolve("keys"))
            .await(AWAIT_SECONDS, SECONDS);
    int servers = clients.servers().size();
    int mark = clients.created();

    GatewayConfig next =
        unbuildable(
            aws
                + config(
                    "{name: new-demo, backend: {type: demo}}",
                    "{name: new-scorer, backend: {type: sagemaker, roleArn: \"arn:aws:iam::123456789012:role/r\"}}",
                    container("broken", PLACEHOLDER_URL)));
    Exception e =
        assertThrows(Exception.class, () -> assembly.reload(next).await(AWAIT_SECONDS, SECONDS));

    assertTrue(e.getMessage().contains("broken"), e.getMessage());
    assertEquals(1, clients.servers().size() - servers, "the demo model was started");
    assertTrue(
        clients.createdSince(mark).size() >= 2, "new-demo's backend and the SageMaker client");
    clients.allClosedSince(mark).await(5, TimeUnit.SECONDS);
    clients.servers().get(servers).closed().future().await(5, TimeUnit.SECONDS);
    assertEquals(200, invoke(issuer, "local-model"), "the last good configuration keeps serving");

    assembly
        .reload(
            ConfigLoader.parse(
                aws + config("{name: new-demo, backend: {type: demo}}"), "test.yaml"))
        .await(AWAIT_SECONDS, SECONDS);
    assertEquals(200, invoke(issuer, "new-demo"), "the demo model starts again");
  }

  @Test
  void aStartThatFailsPartWayClosesWhatItBuilt() throws Exception {
    GatewayConfig config = unbuildable(config(container("second", PLACEHOLDER_URL)));
    int mark = clients.created();
    Exception e =
        assertThrows(
            Exception.class,
            () ->
                GatewayAssembly.start(
                        vertx, config, registry, new RecordingAuditSink(), dir.resolve("keys"))
                    .await(AWAIT_SECONDS, SECONDS));
    assertTrue(e.getMessage().contains("second"), e.getMessage());
    assertFalse(clients.createdSince(mark).isEmpty(), "local-model's backend was built");
    clients.allClosedSince(mark).await(5, TimeUnit.SECONDS);
  }

  @Test
  void aStartWhosePortIsTakenClosesItsBackends() throws Exception {
    GatewayConfig config =
        ConfigLoader.parse(
            config().replace("port: 0,", "port: " + model.port() + ","), "test.yaml");
    int mark = clients.created();
    Exception e =
        assertThrows(
            Exception.class,
            () ->
                GatewayAssembly.start(
                        vertx, config, registry, new RecordingAuditSink(), dir.resolve("keys"))
                    .await(AWAIT_SECONDS, SECONDS));
    assertFalse(clients.createdSince(mark).isEmpty(), "local-model's backend was built: " + e);
    clients.allClosedSince(mark).await(5, TimeUnit.SECONDS);
  }

  /**
   * The step itself, with real backends and a real refusal: a backend type this gateway has no
   * factory for (here {@code sagemaker}), after a container endpoint was built.
   */
  @Test
  void buildingTheNextStateClosesWhatItBuiltWhenAnEndpointFails() throws Exception {
    GatewayConfig before = ConfigLoader.parse(config(), "test.yaml");
    GatewayConfig after =
        ConfigLoader.parse(
            "aws: {region: eu-west-1}\n"
                + config(
                    container("first-new", model.url().toString()),
                    "{name: second-new, backend: {type: sagemaker, roleArn: \"arn:aws:iam::123456789012:role/r\"}}"),
            "test.yaml");
    var factory =
        Backends.byType(Map.of(BackendConfig.CONTAINER, new ContainerBackendFactory(vertx)));
    GatewayState running =
        GatewayState.build(before, rules -> new PolicyEngine(rules)::decide, factory, null);
    int mark = clients.created();

    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                GatewayState.build(
                    after, rules -> new PolicyEngine(rules)::decide, factory, running));
    assertTrue(e.getMessage().contains("second-new"), e.getMessage());
    assertEquals(1, clients.createdSince(mark).size(), "first-new's backend was built");
    clients.allClosedSince(mark).await(5, TimeUnit.SECONDS);
    assertEquals(Set.of("local-model"), running.backends().keySet());
    assertFalse(clients.createdSince(0).get(0).isClosed(), "the running state's backend is kept");
    for (var b : running.backends().values()) {
      b.close().await(AWAIT_SECONDS, SECONDS);
    }
  }
}
