package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSObject;
import com.nimbusds.jose.Payload;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.AuthSettings;
import io.sagegate.config.ConfigLoader;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.token.KeyProvider;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Tokens that are validly signed but malformed in their time claims, their header or the way they
 * are sent, through the whole gateway over real sockets: once against the local development
 * issuer's real key, once against mock-oauth2-server (discovery and JWKS over HTTP, its signing key
 * given to it by the test so the test can sign exact payloads). Each is a 401 with its own audit
 * reason, and its record names the endpoint the call targeted.
 */
class TokenHardeningIntegrationTest {

  private static final String IDP = "corp";
  private static final String AUDIENCE = "sagegate";

  @TempDir static Path dir;
  private static Vertx vertx;
  private static ContainerStub model;
  private static MockOAuth2Server oidc;
  private static Issuer dev;
  private static Issuer mock;

  /** One gateway trusting one issuer, and that issuer's private key to sign crafted tokens. */
  record Issuer(
      String name,
      GatewayAssembly assembly,
      RecordingAuditSink audit,
      RSAKey key,
      String iss,
      String aud) {
    int port() {
      return assembly.gateway().port();
    }

    @Override
    public String toString() {
      return name;
    }
  }

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    model = ContainerStub.start(vertx).await(AWAIT_SECONDS, SECONDS);

    Path devKeys = dir.resolve("dev-issuer");
    DevIssuer.loadOrCreate(devKeys);
    RSAKey devKey = RSAKey.parse(Files.readString(devKeys.resolve(DevIssuer.KEY_FILE)));
    dev =
        gateway(
            "dev issuer",
            "auth: {devIssuer: true, leeway: 30s}",
            devKeys,
            devKey,
            AuthSettings.DEV_ISSUER,
            AuthSettings.DEV_AUDIENCE);

    RSAKey mockKey = new RSAKeyGenerator(2048).generate();
    oidc =
        new MockOAuth2Server(
            new OAuth2Config(
                false,
                null,
                null,
                false,
                new OAuth2TokenProvider(new KeyProvider(List.of(mockKey)))));
    oidc.start();
    String issuer = oidc.issuerUrl(IDP).toString();
    // mock-oauth2-server names the key after the issuer id it signs for.
    mock =
        gateway(
            "mock-oauth2-server",
            """
        auth:
          discoveryUrl: %s
          issuer: %s
          audiences: [%s]
          leeway: 30s
        """
                .formatted(oidc.wellKnownUrl(IDP), issuer, AUDIENCE),
            dir.resolve("unused"),
            new RSAKey.Builder(mockKey).keyID(IDP).build(),
            issuer,
            AUDIENCE);
  }

  private static Issuer gateway(
      String name, String auth, Path devKeys, RSAKey key, String iss, String aud) throws Exception {
    String yaml =
        """
        server: {port: 0, managementPort: 0}
        %s
        endpoints:
          - name: fraud-scorer
            backend: {type: container, url: "%s"}
        rules:
          - id: everyone
            effect: allow
        """
            .formatted(auth, model.url());
    RecordingAuditSink audit = new RecordingAuditSink();
    GatewayAssembly assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.parse(yaml, name + ".yaml"),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                audit,
                devKeys)
            .await(AWAIT_SECONDS, SECONDS);
    return new Issuer(name, assembly, audit, key, iss, aud);
  }

  @AfterAll
  static void stop() throws Exception {
    for (Issuer i : new Issuer[] {dev, mock}) {
      if (i != null) {
        i.assembly().close().await(AWAIT_SECONDS, SECONDS);
      }
    }
    if (oidc != null) {
      oidc.shutdown();
    }
    model.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  static Stream<Issuer> issuers() {
    return Stream.of(dev, mock);
  }

  private static String claims(Issuer i, String times) {
    return "{\"iss\":\""
        + i.iss()
        + "\",\"aud\":\""
        + i.aud()
        + "\",\"sub\":\"alice\""
        + (times.isEmpty() ? "" : "," + times)
        + "}";
  }

  private static String sign(Issuer i, JWSHeader header, String payload) {
    try {
      JWSObject jws = new JWSObject(header, new Payload(payload));
      jws.sign(new RSASSASigner(i.key()));
      return jws.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String sign(Issuer i, String payload) {
    return sign(
        i, new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(i.key().getKeyID()).build(), payload);
  }

  private static long in(long seconds) {
    return Instant.now().plusSeconds(seconds).getEpochSecond();
  }

  private static HttpResponse<String> call(Issuer i, String authorization) {
    return HttpCalls.send(
        HttpCalls.post(i.port(), "/endpoints/fraud-scorer/invocations", null, "{}")
            .header("Authorization", authorization));
  }

  /** Asserts a 401 with {@code reason} in its one audit record, which names the endpoint. */
  private static void refused(Issuer i, String authorization, String reason) {
    HttpResponse<String> r = call(i, authorization);
    assertEquals(401, r.statusCode(), i + ": " + r.body());
    assertEquals("UnauthorizedException", r.headers().firstValue("x-amzn-ErrorType").orElse(null));
    String id = r.headers().firstValue("x-amzn-RequestId").orElseThrow();
    JsonNode record = i.audit().await(id);
    assertEquals(1, i.audit().count(id));
    assertEquals(reason, record.path("errorReason").asText(), i + ": " + r.body());
    assertEquals("fraud-scorer", record.path("endpoint").asText(), "401 records name the endpoint");
    assertEquals("invoke", record.path("action").asText());
    assertEquals(401, record.path("status").asInt());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("issuers")
  void aWellFormedTokenIsServed(Issuer i) {
    String token = sign(i, claims(i, "\"exp\":" + in(600) + ",\"iat\":" + in(0)));
    HttpResponse<String> r = call(i, "Bearer " + token);
    assertEquals(200, r.statusCode(), i + ": " + r.body());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("issuers")
  void timeClaimsThatAreNotNumbersAreInvalidClaims(Issuer i) {
    long exp = in(600);
    for (String bad : List.of("null", "\"" + exp + "\"", "true", "{}")) {
      refused(i, "Bearer " + sign(i, claims(i, "\"exp\":" + bad)), "authentication:invalid_claims");
      refused(
          i,
          "Bearer " + sign(i, claims(i, "\"exp\":" + exp + ",\"nbf\":" + bad)),
          "authentication:invalid_claims");
      refused(
          i,
          "Bearer " + sign(i, claims(i, "\"exp\":" + exp + ",\"iat\":" + bad)),
          "authentication:invalid_claims");
    }
    // exp stays required.
    refused(i, "Bearer " + sign(i, claims(i, "\"iat\":" + in(0))), "authentication:claims");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("issuers")
  void anIssueTimeBeyondTheLeewayIsRefused(Issuer i) {
    refused(
        i,
        "Bearer " + sign(i, claims(i, "\"exp\":" + in(7200) + ",\"iat\":" + in(3600))),
        "authentication:invalid_claims");
    // Within the 30 s leeway: clocks differ a little.
    String near = sign(i, claims(i, "\"exp\":" + in(600) + ",\"iat\":" + in(10)));
    assertEquals(200, call(i, "Bearer " + near).statusCode());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("issuers")
  void anUnknownCriticalHeaderHasItsOwnReason(Issuer i) {
    String token =
        sign(
            i,
            new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(i.key().getKeyID())
                .criticalParams(Set.of("x-bind"))
                .customParam("x-bind", "v")
                .build(),
            claims(i, "\"exp\":" + in(600)));
    refused(i, "Bearer " + token, "authentication:unsupported_crit");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("issuers")
  void junkAfterTheTokenIsMalformed(Issuer i) {
    String token = sign(i, claims(i, "\"exp\":" + in(600)));
    for (String junk : List.of(",", " x", ", x", ",x", " " + token)) {
      refused(i, "Bearer " + token + junk, "authentication:malformed");
    }
    assertEquals(200, call(i, "Bearer " + token).statusCode());
  }
}
