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
import io.sagegate.testsupport.RecordingAuditSink;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.sagegate.testsupport.aws.SageMakerEmulator.RecordedRequest;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A gateway started with container endpoints only gains its first {@code sagemaker} endpoint by a
 * reload, without a restart: the AWS path is built then, from the aws settings it started with, and
 * kept for later reloads. Started without aws settings, such a reload is refused like an invalid
 * file and the last good configuration keeps serving. Real servers throughout: the gateway, a model
 * container stub and the SageMaker/STS emulator; the watcher is driven with checkNow(), never by
 * waiting for its timer.
 */
class SageMakerReloadIntegrationTest {

  private static final String KEY = "AKIAGATEWAYTEST00001";
  private static final String SECRET = "gateway-secret";
  private static final String EXTERNAL_ID = "sagegate-ext-reload";

  @TempDir Path dir;
  private static Vertx vertx;
  private static SageMakerEmulator aws;
  private static ContainerStub model;
  private GatewayAssembly assembly;
  private ConfigWatcher watcher;
  private PrometheusMeterRegistry registry;
  private DevIssuer issuer;
  private Path file;

  @BeforeAll
  static void startServers() throws Exception {
    // The gateway's own identity from the default chain, as in production (IRSA, instance role).
    System.setProperty("aws.accessKeyId", KEY);
    System.setProperty("aws.secretAccessKey", SECRET);
    vertx = Vertx.vertx();
    aws = SageMakerEmulator.start(vertx).await(AWAIT_SECONDS, SECONDS);
    aws.addCredentials(KEY, SECRET);
    aws.addRole(
        Role.allowing(
            aws.roleArn("late-invoke"),
            KEY,
            EXTERNAL_ID,
            List.of("sagemaker:InvokeEndpoint"),
            List.of("arn:aws:sagemaker:" + aws.region() + ":" + aws.accountId() + ":endpoint/*")));
    model = ContainerStub.start(vertx).await(AWAIT_SECONDS, SECONDS);
  }

  @AfterAll
  static void stopServers() throws Exception {
    aws.stop().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
  }

  @AfterEach
  void stopGateway() throws Exception {
    if (watcher != null) {
      watcher.close();
    }
    if (assembly != null) {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
    }
    aws.reset();
  }

  private String awsBlock() {
    return """
        aws:
          region: %1$s
          accountId: "%2$s"
          stsEndpoint: %3$s
          sagemakerRuntimeEndpoint: %3$s
          externalId: %4$s
        """
        .formatted(aws.region(), aws.accountId(), aws.uri(), EXTERNAL_ID);
  }

  private String containerOnly() {
    return """
        server: {port: 0, managementPort: 0}
        auth: {devIssuer: true}
        endpoints:
          - name: local-model
            backend: {type: container, url: "%s", timeout: 5s}
        rules:
          - id: risk-team
            effect: allow
            principal: {groups: [risk]}
        """
        .formatted(model.url());
  }

  private String withSageMakerEndpoints(String base, String... names) {
    StringBuilder b = new StringBuilder(base);
    int at = b.indexOf("rules:");
    StringBuilder endpoints = new StringBuilder();
    for (String name : names) {
      endpoints
          .append("  - name: ")
          .append(name)
          .append('\n')
          .append("    backend: {type: sagemaker, roleArn: \"")
          .append(aws.roleArn("late-invoke"))
          .append("\", timeout: 5s}\n");
    }
    return b.insert(at, endpoints).toString();
  }

  private void start(String yaml) throws Exception {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    issuer = DevIssuer.loadOrCreate(dir.resolve("keys"));
    file = dir.resolve("gateway.yaml");
    Files.writeString(file, yaml);
    GatewayConfig config = ConfigLoader.load(file);
    assembly =
        GatewayAssembly.start(
                vertx, config, registry, new RecordingAuditSink(), dir.resolve("keys"))
            .await(AWAIT_SECONDS, SECONDS);
    watcher =
        ConfigWatcher.startAsync(
            vertx, file, config, assembly::reload, registry, Duration.ofHours(1));
  }

  private HttpResponse<String> invoke(String endpoint, String subject) {
    String token =
        issuer.mint(subject, List.of("risk"), List.of(), null, Duration.ofMinutes(5), Map.of());
    return HttpCalls.send(
        HttpCalls.post(
            assembly.gateway().port(),
            "/endpoints/" + endpoint + "/invocations",
            token,
            "{\"features\":[1]}"));
  }

  private double reloads(String result) {
    return registry.get(ConfigWatcher.RELOADS).tag("result", result).counter().count();
  }

  @Test
  void reloadAddsTheFirstSageMakerEndpointWithoutRestart() throws Exception {
    String base = awsBlock() + containerOnly();
    start(base);
    assertEquals(200, invoke("local-model", "alice").statusCode());

    aws.endpoint("late-scorer").okBody("{\"score\":0.7}".getBytes(), "application/json");
    Files.writeString(file, withSageMakerEndpoints(base, "late-scorer"));
    assertEquals(
        ReloadResult.Status.RELOADED, watcher.checkNow().await(AWAIT_SECONDS, SECONDS).status());

    HttpResponse<String> response = invoke("late-scorer", "alice");
    assertEquals(200, response.statusCode(), response.body());
    assertEquals("{\"score\":0.7}", response.body());
    RecordedRequest call = aws.requests(SageMakerEmulator.INVOKE).get(0);
    assertEquals("alice", call.sourceIdentity(), "called under a scoped session naming the caller");
    assertEquals(aws.roleArn("late-invoke"), call.roleArn());
    assertEquals(
        EXTERNAL_ID,
        aws.requests(SageMakerEmulator.ASSUME_ROLE).get(0).params().get("ExternalId"),
        "the aws settings the gateway started with");
    assertEquals(
        200, invoke("local-model", "alice").statusCode(), "container endpoints keep serving");

    // A later reload keeps the AWS path built by the first: same STS provider, so alice's
    // session is still cached, and a second sagemaker endpoint is served too.
    aws.endpoint("late-scorer-2");
    Files.writeString(file, withSageMakerEndpoints(base, "late-scorer", "late-scorer-2"));
    assertEquals(
        ReloadResult.Status.RELOADED, watcher.checkNow().await(AWAIT_SECONDS, SECONDS).status());
    assertEquals(200, invoke("late-scorer", "alice").statusCode());
    assertEquals(
        1,
        aws.requests(SageMakerEmulator.ASSUME_ROLE).size(),
        "the session from before the reload");
    assertEquals(200, invoke("late-scorer-2", "alice").statusCode());
    assertEquals(2.0, reloads("ok"));
  }

  @Test
  void withoutAwsSettingsAtStartTheReloadIsRefusedAndTheLastGoodConfigKeepsServing()
      throws Exception {
    start(containerOnly());
    assertEquals(200, invoke("local-model", "bob").statusCode());

    // The file gains an aws block too, but aws settings apply only after a restart.
    Files.writeString(file, withSageMakerEndpoints(awsBlock() + containerOnly(), "late-scorer"));
    ReloadResult result = watcher.checkNow().await(AWAIT_SECONDS, SECONDS);
    assertEquals(ReloadResult.Status.REJECTED, result.status());
    assertEquals("aws.region", result.errors().get(0).field(), result.errors().toString());
    assertTrue(
        result.errors().get(0).toString().contains("late-scorer")
            && result.errors().get(0).toString().contains("restart"),
        result.errors().toString());
    assertEquals(1.0, reloads("failed"));
    assertEquals(0.0, reloads("ok"));

    assertEquals(
        200,
        invoke("local-model", "bob").statusCode(),
        "the last good configuration keeps serving");
    assertEquals(403, invoke("late-scorer", "bob").statusCode(), "not added: unknown, hence 403");
    assertEquals(0, aws.requests(SageMakerEmulator.ASSUME_ROLE).size());
  }
}
