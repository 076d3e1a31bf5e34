package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.GatewayConfig;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default as a new user meets it: the demo scenario of conf/local.yaml, tokens from
 * the local development issuer, answers from the built-in demo model.
 */
class EmbeddedDefaultTest {

  @TempDir static Path keys;
  private static Vertx vertx;
  private static GatewayAssembly assembly;
  private static DevIssuer issuer;
  private static final ObjectMapper JSON = new ObjectMapper();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    GatewayConfig config = ConfigLoader.embeddedDefault();
    config =
        new GatewayConfig(
            config.server().withPorts(0, 0),
            config.auth(),
            config.audit(),
            config.aws(),
            config.endpoints(),
            config.rules());
    issuer = DevIssuer.loadOrCreate(keys);
    assembly =
        GatewayAssembly.start(
                vertx,
                config,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                new RecordingAuditSink(),
                keys)
            .await(AWAIT_SECONDS, SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private HttpResponse<String> call(String endpoint, String... groups) {
    String token =
        issuer.mint("alice", List.of(groups), List.of(), null, Duration.ofMinutes(5), Map.of());
    return HttpCalls.send(
        HttpCalls.post(
            assembly.gateway().port(),
            "/endpoints/" + endpoint + "/invocations",
            token,
            "{\"text\":\"great product\"}"));
  }

  @Test
  void embeddedDefaultIsConfLocalYaml() throws Exception {
    assertEquals(ConfigLoader.load(Path.of("conf/local.yaml")), ConfigLoader.embeddedDefault());
  }

  @Test
  void dataScientistsReachTheTestEndpointOnly() throws Exception {
    HttpResponse<String> ok = call("sentiment-test", "data-scientists");
    assertEquals(200, ok.statusCode(), ok.body());
    JsonNode answer = JSON.readTree(ok.body());
    assertEquals("sentiment-test", answer.path("endpoint").asText());
    assertEquals("POSITIVE", answer.path("label").asText());
    assertEquals(ok.body(), call("sentiment-test", "data-scientists").body(), "deterministic");
    assertEquals(403, call("fraud-scorer", "data-scientists").statusCode());
  }

  @Test
  void demoScenario() {
    assertEquals(200, call("fraud-scorer", "analysts").statusCode());
    assertEquals(403, call("sentiment-test", "analysts").statusCode());
    assertEquals(200, call("fraud-scorer", "ml-engineers").statusCode());
    assertEquals(200, call("sentiment-test", "ml-engineers").statusCode());
    assertEquals(403, call("fraud-scorer", "ml-engineers", "contractors").statusCode());
    assertEquals(200, call("sentiment-test", "ml-engineers", "contractors").statusCode());
    assertEquals(403, call("fraud-scorer").statusCode());
  }

  @Test
  void fraudScorerAnswerNamesItsEndpoint() throws Exception {
    HttpResponse<String> ok = call("fraud-scorer", "analysts");
    assertTrue(ok.body().contains("\"endpoint\":\"fraud-scorer\""), ok.body());
  }
}
