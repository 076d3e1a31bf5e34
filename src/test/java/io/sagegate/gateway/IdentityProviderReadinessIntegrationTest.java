package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The identity provider is down when the gateway starts: the gateway starts anyway, {@code /readyz}
 * answers 503 with the reason, calls get 503 (not 401: the caller's token is not at fault), and
 * once the provider answers the key ring's retries load the keys and the gateway is ready. When the
 * provider goes away again at runtime, the keys already loaded keep serving.
 */
class IdentityProviderReadinessIntegrationTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String IDP = "corp";

  @TempDir Path dir;
  private Vertx vertx;
  private ContainerStub model;
  private MockOAuth2Server oidc;
  private GatewayAssembly assembly;
  private PrometheusMeterRegistry registry;
  private RecordingAuditSink audit;

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    model = ContainerStub.start(vertx).await(AWAIT_SECONDS, SECONDS);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (assembly != null) {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
    }
    if (oidc != null) {
      oidc.shutdown();
    }
    model.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private HttpResponse<String> get(String path) {
    return HttpCalls.send(
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + assembly.gateway().managementPort() + path))
            .timeout(Duration.ofSeconds(10))
            .GET());
  }

  private HttpResponse<String> invoke(String token) {
    return HttpCalls.send(
        HttpCalls.post(
            assembly.gateway().port(), "/endpoints/fraud-scorer/invocations", token, "{}"));
  }

  private static void within(Duration limit, BooleanSupplier condition, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + limit + ": " + what);
      }
      Thread.sleep(50); // polling a bounded condition, not synchronising on time
    }
  }

  private double refreshes(String trigger, String result) {
    var counter =
        registry
            .find("sagegate.jwks.refreshes")
            .tag("trigger", trigger)
            .tag("result", result)
            .counter();
    return counter == null ? 0 : counter.count();
  }

  @Test
  void startsNotReadyWhileTheProviderIsDownAndBecomesReadyWhenItAnswers() throws Exception {
    int port = freePort();
    String issuer = "http://localhost:" + port + "/" + IDP;
    String yaml =
        """
        server: {port: 0, managementPort: 0}
        auth:
          discoveryUrl: %s/.well-known/openid-configuration
          issuer: %s
          audiences: [sagegate]
          keyRefreshInterval: 1s
        endpoints:
          - name: fraud-scorer
            backend: {type: container, url: "%s"}
        rules:
          - id: everyone
            effect: allow
        """
            .formatted(issuer, issuer, model.url());
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    audit = new RecordingAuditSink();
    // Starts although nothing listens at the discovery URL.
    assembly =
        GatewayAssembly.start(
                vertx, ConfigLoader.parse(yaml, "idp-down.yaml"), registry, audit, dir)
            .await(AWAIT_SECONDS, SECONDS);

    HttpResponse<String> notReady = get("/readyz");
    assertEquals(503, notReady.statusCode());
    JsonNode body = JSON.readTree(notReady.body());
    assertEquals("not ready", body.path("status").asText());
    assertTrue(
        body.path("reason").asText().contains(issuer + "/.well-known/openid-configuration"),
        body.toString());
    assertEquals(200, get("/healthz").statusCode(), "alive while not ready");

    // A well-formed token that no key can be looked up for yet.
    var key = new com.nimbusds.jose.jwk.gen.RSAKeyGenerator(2048).keyID(IDP).generate();
    var jwt =
        new com.nimbusds.jwt.SignedJWT(
            new com.nimbusds.jose.JWSHeader.Builder(com.nimbusds.jose.JWSAlgorithm.RS256)
                .keyID(IDP)
                .build(),
            new com.nimbusds.jwt.JWTClaimsSet.Builder()
                .issuer(issuer)
                .audience("sagegate")
                .subject("alice")
                .expirationTime(new java.util.Date(System.currentTimeMillis() + 600_000))
                .build());
    jwt.sign(new com.nimbusds.jose.crypto.RSASSASigner(key));
    HttpResponse<String> refused = invoke(jwt.serialize());
    assertEquals(503, refused.statusCode(), refused.body());
    assertEquals(
        "ServiceUnavailable", refused.headers().firstValue("x-amzn-ErrorType").orElse(null));
    JsonNode record = audit.await(refused.headers().firstValue("x-amzn-RequestId").orElseThrow());
    assertEquals("authentication:keys_unavailable", record.path("errorReason").asText());

    oidc = new MockOAuth2Server();
    oidc.start(InetAddress.getByName("127.0.0.1"), port);
    assertEquals(issuer, oidc.issuerUrl(IDP).toString());
    within(
        Duration.ofSeconds(20),
        () -> get("/readyz").statusCode() == 200,
        "ready once the provider answers");
    String first = oidc.issueToken(IDP, "alice", "sagegate", Map.of(), 3600).serialize();
    String second =
        oidc.issueToken(IDP, "bob", "sagegate", Map.of("groups", List.of()), 3600).serialize();
    assertEquals(200, invoke(first).statusCode());

    // The provider goes away at runtime: refreshes fail, the loaded keys keep serving, and a
    // token never seen before still verifies.
    oidc.shutdown();
    oidc = null;
    double failedBefore = refreshes("periodic", "failed");
    within(
        Duration.ofSeconds(20),
        () -> refreshes("periodic", "failed") > failedBefore,
        "a periodic refresh fails");
    assertEquals(200, invoke(second).statusCode());
    assertEquals(200, get("/readyz").statusCode(), "keys already loaded keep it ready");
  }
}
