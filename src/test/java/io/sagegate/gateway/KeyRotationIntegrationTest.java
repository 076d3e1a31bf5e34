package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A token signed with a key the gateway has not seen yet: the gateway fetches the issuer's keys
 * again while the request waits, and the request's body still reaches the model whole (it is held
 * back while verification is asynchronous, and only then).
 */
class KeyRotationIntegrationTest {

  private static final String ISSUER = "https://idp.rotation.test";

  private Vertx vertx;
  private HttpServer jwks;
  private ContainerStub model;
  private GatewayAssembly assembly;
  private final AtomicInteger fetches = new AtomicInteger();
  private volatile String keys;
  private RSAKey keyA;
  private RSAKey keyB;
  @TempDir Path home;

  @BeforeEach
  void start() throws Exception {
    keyA = new RSAKeyGenerator(2048).keyID("key-a").generate();
    keyB = new RSAKeyGenerator(2048).keyID("key-b").generate();
    keys = new JWKSet(keyA.toPublicJWK()).toString();
    vertx = Vertx.vertx();
    jwks =
        vertx
            .createHttpServer()
            .requestHandler(
                req -> {
                  fetches.incrementAndGet();
                  req.response().putHeader("Content-Type", "application/json").end(keys);
                })
            .listen(0, "127.0.0.1")
            .await(AWAIT_SECONDS, SECONDS);
    model = ContainerStub.start(vertx).await(AWAIT_SECONDS, SECONDS);
    String yaml =
        """
        server: {port: 0, managementPort: 0}
        auth:
          jwksUri: http://127.0.0.1:%d/jwks
          issuer: %s
          audiences: [sagegate]
          minKeyRefreshInterval: 1ms
        endpoints:
          - name: sentiment-test
            tags: {env: test}
            backend: {type: container, url: "%s"}
        rules:
          - id: data-scientists-test
            effect: allow
            principal: {groups: [data-scientists]}
            resource: {tags: {env: [test]}}
        """
            .formatted(jwks.actualPort(), ISSUER, model.url());
    assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.parse(yaml, "rotation.yaml"),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                new RecordingAuditSink(),
                home)
            .await(AWAIT_SECONDS, SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    model.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private static String token(RSAKey key) throws Exception {
    Instant now = Instant.now();
    SignedJWT jwt =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
            new JWTClaimsSet.Builder()
                .issuer(ISSUER)
                .audience("sagegate")
                .subject("alice")
                .claim("groups", List.of("data-scientists"))
                .issueTime(Date.from(now))
                .expirationTime(Date.from(now.plusSeconds(600)))
                .build());
    jwt.sign(new RSASSASigner(key));
    return jwt.serialize();
  }

  @Test
  void bodyReachesTheModelWhenTheTokensKeyIsFetchedMidRequest() throws Exception {
    int port = assembly.gateway().port();
    int before = fetches.get();
    keys = new JWKSet(List.of(keyA.toPublicJWK(), keyB.toPublicJWK())).toString();
    String body = "{\"text\":\"" + "x".repeat(3000) + "\"}";
    HttpResponse<String> response =
        HttpCalls.send(
            HttpCalls.post(port, "/endpoints/sentiment-test/invocations", token(keyB), body));
    assertEquals(200, response.statusCode(), response.body());
    assertEquals(before + 1, fetches.get(), "the unknown key was fetched while the request waited");
    ContainerStub.Received received = model.received().get(model.received().size() - 1);
    assertEquals(body, received.body().toString(), "the model got the whole body");
  }
}
