package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.GatewayConfig;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole pipeline over real sockets: the gateway on a random port, a real OIDC issuer
 * (mock-oauth2-server, through discovery), a real model container stub, and the JDK's HTTP client.
 * Every case checks the status, the error type and that exactly one audit record was written for
 * the request.
 */
class GatewayIntegrationTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ISSUER = "corp";
  private static final String AUDIENCE = "sagegate";

  private static MockOAuth2Server oidc;
  private static Vertx vertx;
  private static ContainerStub model;
  @TempDir static Path keys;

  private RecordingAuditSink audit;
  private PrometheusMeterRegistry registry;
  private GatewayAssembly assembly;
  private int port;

  @BeforeAll
  static void startIssuerAndModel() throws Exception {
    oidc = new MockOAuth2Server();
    oidc.start();
    vertx = Vertx.vertx();
    model = ContainerStub.start(vertx).await(AWAIT_SECONDS, SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    model.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
    oidc.shutdown();
  }

  @BeforeEach
  void startGateway() throws Exception {
    model.mode(ContainerStub.Mode.ok()).await(AWAIT_SECONDS, SECONDS);
    audit = new RecordingAuditSink();
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    assembly =
        GatewayAssembly.start(vertx, config(), registry, audit, keys).await(AWAIT_SECONDS, SECONDS);
    port = assembly.gateway().port();
  }

  @AfterEach
  void stopGateway() throws Exception {
    assembly.close().await(AWAIT_SECONDS, SECONDS);
  }

  static String configYaml(String modelUrl) {
    return """
        server: {port: 0, managementPort: 0, maxBodyBytes: 4096, maxHeaderBytes: 8192}
        auth:
          discoveryUrl: %s
          issuer: %s
          audiences: [%s]
          leeway: 5s
          maxTokenBytes: 4096
          minKeyRefreshInterval: 1h
        endpoints:
          - name: fraud-scorer
            tags: {env: prod, team: risk}
            backend: {type: container, url: "%s", timeout: 2s}
          - name: sentiment-test
            tags: {env: test}
            backend: {type: container, url: "%s", timeout: 2s}
          - name: long-stream
            tags: {env: test}
            backend: {type: container, url: "%s", timeout: 60s}
        rules:
          - id: contractors-deny-prod
            effect: deny
            principal: {groups: [contractors]}
            resource: {tags: {env: [prod]}}
          - id: data-scientists-test
            effect: allow
            principal: {groups: [data-scientists]}
            resource: {tags: {env: [test]}}
            actions: [invoke, invoke-stream]
          - id: analysts-fraud-scorer
            effect: allow
            principal: {groups: [analysts]}
            resource: {endpoints: [fraud-scorer]}
          - id: ml-engineers-all
            effect: allow
            principal: {groups: [ml-engineers]}
          - id: variant-b-only
            effect: allow
            principal: {groups: [variant-testers]}
            conditions: {targetVariants: [variant-b]}
        """
        .formatted(
            oidc.wellKnownUrl(ISSUER),
            oidc.issuerUrl(ISSUER),
            AUDIENCE,
            modelUrl,
            modelUrl,
            modelUrl);
  }

  private GatewayConfig config() throws Exception {
    return ConfigLoader.parse(configYaml(model.url().toString()), "integration.yaml");
  }

  private static String token(String subject, List<String> groups) {
    return oidc.issueToken(ISSUER, subject, AUDIENCE, Map.of("groups", groups), 3600).serialize();
  }

  private HttpResponse<String> invoke(String endpoint, String token) {
    return HttpCalls.send(
        HttpCalls.post(
            port,
            "/endpoints/" + endpoint + "/invocations",
            token,
            "{\"text\":\"great product\"}"));
  }

  /** The request's one audit record; fails if there is none or more than one. */
  private JsonNode auditOf(HttpResponse<?> response) {
    String id =
        response
            .headers()
            .firstValue("x-amzn-RequestId")
            .orElseThrow(() -> new AssertionError("response has no x-amzn-RequestId"));
    JsonNode record = audit.await(id);
    assertEquals(1, audit.count(id), "exactly one audit record per request");
    assertEquals(response.statusCode(), record.path("status").asInt());
    return record;
  }

  private JsonNode error(HttpResponse<String> response, int status, String type) throws Exception {
    assertEquals(status, response.statusCode(), response.body());
    assertEquals(type, response.headers().firstValue("x-amzn-ErrorType").orElse(null));
    JsonNode body = JSON.readTree(response.body());
    assertEquals(type, body.path("__type").asText());
    assertFalse(body.path("message").asText().isBlank(), "error names what is wrong");
    assertFalse(
        response.body().contains("Exception:") || response.body().contains("\tat "),
        "no stack trace reaches the caller: " + response.body());
    JsonNode record = auditOf(response);
    assertEquals(type, record.path("errorType").asText());
    return body;
  }

  @Test
  void allowedCallReachesTheModelAndIsAudited() throws Exception {
    HttpResponse<String> response =
        invoke("sentiment-test", token("alice", List.of("data-scientists")));

    assertEquals(200, response.statusCode(), response.body());
    assertEquals(
        "AllTraffic",
        response.headers().firstValue("X-Amzn-Invoked-Production-Variant").orElse(null));
    ContainerStub.Received received = model.received().get(model.received().size() - 1);
    assertEquals("/invocations", received.path());
    assertEquals("{\"text\":\"great product\"}", received.body().toString());
    assertNull(received.headers().get("Authorization"), "the bearer token never reaches the model");

    JsonNode record = auditOf(response);
    assertEquals("alice", record.path("subject").asText());
    assertEquals(oidc.issuerUrl(ISSUER).toString(), record.path("issuer").asText());
    assertEquals("sentiment-test", record.path("endpoint").asText());
    assertEquals("invoke", record.path("action").asText());
    assertEquals("allow", record.path("decision").asText());
    assertEquals("data-scientists-test", record.path("ruleId").asText());
    assertEquals(200, record.path("backendStatus").asInt());
    assertTrue(record.path("bytesIn").asLong() > 0);
    assertTrue(record.path("bytesOut").asLong() > 0);
    String line = audit.all().toString();
    assertFalse(line.contains("great product"), "no payload in the audit record");
    assertFalse(
        line.contains(token("alice", List.of("data-scientists")).substring(0, 20)),
        "no token in the audit");
  }

  @Test
  void decisionsFollowTheRules() throws Exception {
    String analyst = token("bob", List.of("analysts"));
    assertEquals(200, invoke("fraud-scorer", analyst).statusCode());
    JsonNode denied = error(invoke("sentiment-test", analyst), 403, "AccessDeniedException");
    assertTrue(denied.path("message").asText().contains("sentiment-test"));

    String contractor = token("carol", List.of("contractors", "ml-engineers"));
    HttpResponse<String> prod = invoke("fraud-scorer", contractor);
    error(prod, 403, "AccessDeniedException");
    assertEquals("contractors-deny-prod", auditOf(prod).path("ruleId").asText());
    assertEquals(200, invoke("sentiment-test", contractor).statusCode());

    HttpResponse<String> nobody = invoke("fraud-scorer", token("dave", List.of()));
    error(nobody, 403, "AccessDeniedException");
    assertEquals("default-deny", auditOf(nobody).path("ruleId").asText());
  }

  @Test
  void unknownAndForbiddenEndpointsLookTheSame() throws Exception {
    String analyst = token("bob", List.of("analysts"));
    HttpResponse<String> forbidden = invoke("sentiment-test", analyst);
    HttpResponse<String> unknown = invoke("no-such-endpoint", analyst);
    error(forbidden, 403, "AccessDeniedException");
    error(unknown, 403, "AccessDeniedException");
    assertEquals(
        forbidden.body().replace("sentiment-test", "X"),
        unknown.body().replace("no-such-endpoint", "X"));
    assertEquals("unknown-endpoint", auditOf(unknown).path("ruleId").asText());
  }

  @Test
  void caseAndEncodingTricksNeverReachADeniedEndpoint() throws Exception {
    String scientist = token("alice", List.of("data-scientists"));
    error(probe("FRAUD-SCORER", scientist), 403, "AccessDeniedException");
    error(probe("fraud%2Dscorer", scientist), 400, "ValidationError");
    error(probe("bad_name", scientist), 400, "ValidationError");
    error(probe("x".repeat(64), scientist), 400, "ValidationError");
    error(
        rawPost("/endpoints/sentiment-test/../fraud-scorer/invocations", scientist),
        404,
        "UnknownOperationException");
    error(
        rawPost("/endpoints/fraud-scorer/invocations/", scientist),
        404,
        "UnknownOperationException");
    error(
        rawPost("/endpoints//fraud-scorer/invocations", scientist),
        404,
        "UnknownOperationException");
    error(
        rawPost("/endpoints/%2e%2e/fraud-scorer/invocations", scientist),
        404,
        "UnknownOperationException");
    assertEquals(
        0,
        model.received().stream().filter(r -> r.body().toString().equals(PROBE)).count(),
        "none of these reached the model");
    // The same endpoint in another case is the same endpoint, under the same rules.
    assertEquals(200, invoke("Sentiment-Test", scientist).statusCode());
  }

  @Test
  void wrongMethodIs405WithAllow() throws Exception {
    HttpResponse<String> response =
        HttpCalls.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + port + "/endpoints/sentiment-test/invocations"))
                .GET());
    error(response, 405, "MethodNotAllowedException");
    assertEquals("POST", response.headers().firstValue("Allow").orElse(null));
  }

  @Test
  void missingAndMalformedTokensAre401() throws Exception {
    HttpResponse<String> missing = invoke("sentiment-test", null);
    error(missing, 401, "UnauthorizedException");
    assertTrue(missing.headers().firstValue("WWW-Authenticate").orElse("").startsWith("Bearer"));

    HttpResponse<String> garbage = invoke("sentiment-test", "not-a-jwt");
    error(garbage, 401, "UnauthorizedException");
    assertTrue(
        garbage
            .headers()
            .firstValue("WWW-Authenticate")
            .orElse("")
            .contains("error=\"invalid_token\""));

    HttpResponse<String> basic =
        HttpCalls.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "http://127.0.0.1:" + port + "/endpoints/sentiment-test/invocations"))
                .header("Authorization", "Basic YWxpY2U6c2VjcmV0")
                .POST(HttpRequest.BodyPublishers.ofString(PROBE)));
    error(basic, 401, "UnauthorizedException");
    assertEquals(
        0, model.received().stream().filter(r -> r.body().toString().equals(PROBE)).count());
  }

  @Test
  void expiredNotYetValidWrongIssuerAndAudienceAre401() throws Exception {
    String expired =
        oidc.issueToken(
                ISSUER, "alice", AUDIENCE, Map.of("groups", List.of("data-scientists")), -3600)
            .serialize();
    assertReason(invoke("sentiment-test", expired), "expired");

    long future = Instant.now().plusSeconds(3600).getEpochSecond();
    String notYet =
        oidc.issueToken(
                ISSUER,
                "alice",
                AUDIENCE,
                Map.of("groups", List.of("data-scientists"), "nbf", future),
                7200)
            .serialize();
    assertReason(invoke("sentiment-test", notYet), "not_yet_valid");

    String otherIssuer =
        oidc.issueToken(
                "other", "alice", AUDIENCE, Map.of("groups", List.of("data-scientists")), 3600)
            .serialize();
    error(invoke("sentiment-test", otherIssuer), 401, "UnauthorizedException");

    String otherAudience =
        oidc.issueToken(
                ISSUER, "alice", "someone-else", Map.of("groups", List.of("data-scientists")), 3600)
            .serialize();
    assertReason(invoke("sentiment-test", otherAudience), "audience");
  }

  @Test
  void algorithmAttacksAndForeignKeysAre401() throws Exception {
    String valid = token("alice", List.of("data-scientists"));
    String[] parts = valid.split("\\.");
    Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();

    String none =
        b64.encodeToString("{\"alg\":\"none\",\"typ\":\"JWT\"}".getBytes(StandardCharsets.UTF_8))
            + "."
            + parts[1]
            + ".";
    assertReason(invoke("sentiment-test", none), "algorithm");

    // HS256 "signed" with the issuer's public key: the classic key-confusion attack.
    JWKSet published = JWKSet.load(oidc.jwksUrl(ISSUER).url());
    RSAKey publicKey = (RSAKey) published.getKeys().get(0);
    SignedJWT hmac =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(publicKey.getKeyID()).build(),
            SignedJWT.parse(valid).getJWTClaimsSet());
    byte[] secret = publicKey.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8);
    hmac.sign(new MACSigner(secret.length >= 32 ? secret : java.util.Arrays.copyOf(secret, 32)));
    assertReason(invoke("sentiment-test", hmac.serialize()), "algorithm");

    String tampered =
        parts[0]
            + "."
            + b64.encodeToString(
                SignedJWT.parse(valid)
                    .getJWTClaimsSet()
                    .toString()
                    .replace("data-scientists", "ml-engineers")
                    .getBytes(StandardCharsets.UTF_8))
            + "."
            + parts[2];
    assertReason(invoke("sentiment-test", tampered), "signature");

    RSAKey stranger = new RSAKeyGenerator(2048).keyID("stranger-key").generate();
    SignedJWT foreign =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID("stranger-key")
                .type(JOSEObjectType.JWT)
                .build(),
            new JWTClaimsSet.Builder(SignedJWT.parse(valid).getJWTClaimsSet()).build());
    foreign.sign(new RSASSASigner(stranger));
    assertReason(invoke("sentiment-test", foreign.serialize()), "unknown_kid");

    String huge =
        oidc.issueToken(
                ISSUER,
                "alice",
                AUDIENCE,
                Map.of("groups", List.of("data-scientists"), "padding", "p".repeat(5000)),
                3600)
            .serialize();
    assertReason(invoke("sentiment-test", huge), "too_large");
  }

  private void assertReason(HttpResponse<String> response, String reason) throws Exception {
    error(response, 401, "UnauthorizedException");
    String metrics = registry.scrape();
    assertTrue(
        metrics.contains("sagegate_auth_failures_total{reason=\"" + reason + "\"}"),
        "auth failure counted under reason " + reason);
  }

  @Test
  void oversizedHeadersAre431AndAudited() throws Exception {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      String request =
          "POST /endpoints/sentiment-test/invocations HTTP/1.1\r\nHost: x\r\n"
              + "X-Padding: "
              + "a".repeat(10_000)
              + "\r\nContent-Length: 0\r\n\r\n";
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      BufferedReader reader =
          new BufferedReader(
              new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
      String status = reader.readLine();
      assertTrue(status.contains(" 431 "), status);
      String requestId = null;
      for (String line = reader.readLine();
          line != null && !line.isEmpty();
          line = reader.readLine()) {
        if (line.toLowerCase().startsWith("x-amzn-requestid:")) {
          requestId = line.substring(line.indexOf(':') + 1).trim();
        }
      }
      assertNotNull(requestId);
      JsonNode record = audit.await(requestId);
      assertEquals(431, record.path("status").asInt());
      assertEquals(1, audit.count(requestId));
    }
  }

  @Test
  void aRefusedBodyThatStopsArrivingHasItsConnectionClosed() throws Exception {
    // A huge declared body, of which only a part is sent: the 413 comes at once, and the
    // connection is then closed by the gateway, not held open until the idle timeout.
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(15_000);
      String head =
          "POST /endpoints/sentiment-test/invocations HTTP/1.1\r\nHost: x\r\n"
              + "Authorization: Bearer "
              + token("alice", List.of("data-scientists"))
              + "\r\n"
              + "Content-Length: 100000000\r\n\r\n";
      socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().write(new byte[65_536]);
      String response = readToEnd(socket.getInputStream());
      assertTrue(response.startsWith("HTTP/1.1 413 "), response);
      assertTrue(response.toLowerCase().contains("connection: close"), response);
      assertEquals(413, audit.await(requestIdOf(response)).path("status").asInt());
      assertEquals(1, audit.count(requestIdOf(response)));
    }
  }

  @Test
  void aClientThatSendsItsWholeRefusedBodyBeforeReadingStillGetsThe413() throws Exception {
    // As a client that writes the whole body before it reads (python's requests, say): the
    // gateway takes in and drops the rest of the body, so the client is not reset mid-send, and
    // closes the connection once the body has arrived.
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(15_000);
      byte[] body = new byte[2_000_000];
      String head =
          "POST /endpoints/sentiment-test/invocations HTTP/1.1\r\nHost: x\r\n"
              + "Authorization: Bearer "
              + token("alice", List.of("data-scientists"))
              + "\r\n"
              + "Content-Length: "
              + body.length
              + "\r\n\r\n";
      socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().write(body);
      String response = readToEnd(socket.getInputStream());
      assertTrue(response.startsWith("HTTP/1.1 413 "), response);
      assertEquals(413, audit.await(requestIdOf(response)).path("status").asInt());
      assertEquals(1, audit.count(requestIdOf(response)));
    }
  }

  /** Everything the gateway sends until it closes the connection (fails on the read timeout). */
  private static String readToEnd(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
  }

  private static String requestIdOf(String response) {
    return response
        .lines()
        .filter(l -> l.toLowerCase().startsWith("x-amzn-requestid:"))
        .map(l -> l.substring(l.indexOf(':') + 1).trim())
        .findFirst()
        .orElseThrow();
  }

  @Test
  void bodyOverTheLimitIs413WithOrWithoutContentLength() throws Exception {
    String scientist = token("alice", List.of("data-scientists"));
    error(
        HttpCalls.send(
            HttpCalls.post(
                port, "/endpoints/sentiment-test/invocations", scientist, "x".repeat(5000))),
        413,
        "PayloadTooLargeException");
    HttpRequest.Builder chunked =
        HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + port + "/endpoints/sentiment-test/invocations"))
            .header("Authorization", "Bearer " + scientist)
            .POST(
                HttpRequest.BodyPublishers.ofInputStream(
                    () -> new java.io.ByteArrayInputStream(new byte[5000])));
    error(HttpCalls.send(chunked), 413, "PayloadTooLargeException");
    assertEquals(
        0,
        model.received().stream().filter(r -> r.body().length() >= 5000).count(),
        "no oversized body reached the model");
  }

  @Test
  void badSageMakerHeadersAre400() throws Exception {
    HttpResponse<String> response =
        HttpCalls.send(
            HttpCalls.post(
                    port,
                    "/endpoints/sentiment-test/invocations",
                    token("alice", List.of("data-scientists")),
                    "{}")
                .header("X-Amzn-SageMaker-Target-Variant", "-bad-"));
    JsonNode body = error(response, 400, "ValidationError");
    assertTrue(body.path("message").asText().contains("X-Amzn-SageMaker-Target-Variant"));
  }

  @Test
  void targetVariantConditionIsEnforced() throws Exception {
    String tester = token("vic", List.of("variant-testers"));
    error(invoke("sentiment-test", tester), 403, "AccessDeniedException");
    HttpResponse<String> ok =
        HttpCalls.send(
            HttpCalls.post(port, "/endpoints/sentiment-test/invocations", tester, "{}")
                .header("X-Amzn-SageMaker-Target-Variant", "variant-b"));
    assertEquals(200, ok.statusCode());
    assertEquals("variant-b", auditOf(ok).path("targetVariant").asText());
  }

  @Test
  void modelErrorsAreModelError424() throws Exception {
    model.mode(ContainerStub.Mode.error(500, "{\"error\":\"boom\"}")).await(AWAIT_SECONDS, SECONDS);
    HttpResponse<String> response =
        invoke("sentiment-test", token("alice", List.of("data-scientists")));
    JsonNode body = error(response, 424, "ModelError");
    assertEquals(500, body.path("OriginalStatusCode").asInt());
    assertEquals(500, auditOf(response).path("backendStatus").asInt());
  }

  @Test
  void backendThatRefusesHangsOrAnswersGarbageIs502Or504() throws Exception {
    String scientist = token("alice", List.of("data-scientists"));
    model.mode(ContainerStub.Mode.hang()).await(AWAIT_SECONDS, SECONDS);
    error(invoke("sentiment-test", scientist), 504, "GatewayTimeoutException");
    model.mode(ContainerStub.Mode.garbage()).await(AWAIT_SECONDS, SECONDS);
    error(invoke("sentiment-test", scientist), 502, "BadGatewayException");
    model.mode(ContainerStub.Mode.refuse()).await(AWAIT_SECONDS, SECONDS);
    HttpResponse<String> refused = invoke("sentiment-test", scientist);
    JsonNode body = error(refused, 502, "BadGatewayException");
    assertFalse(
        body.path("message").asText().toLowerCase().contains("connection refused"),
        "upstream error text stays out of the caller's message");
  }

  @Test
  void responseStreamPassesChunksThroughAsTheyArrive() throws Exception {
    model.mode(ContainerStub.Mode.slowStream(3)).await(AWAIT_SECONDS, SECONDS);
    HttpRequest request =
        HttpCalls.post(
                port,
                "/endpoints/sentiment-test/invocations-response-stream",
                token("alice", List.of("data-scientists")),
                "{\"stream\":true}")
            .build();
    var pending = HttpCalls.client().sendAsync(request, HttpResponse.BodyHandlers.ofInputStream());
    model.invocationReceived().await(AWAIT_SECONDS, SECONDS);
    model.releaseNextChunk();
    HttpResponse<InputStream> response = pending.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(200, response.statusCode());
    assertEquals(
        "application/vnd.amazon.eventstream",
        response.headers().firstValue("Content-Type").orElse(null));
    List<String> parts = new java.util.ArrayList<>();
    var parser =
        new io.sagegate.eventstream.EventStreamParser(frame -> parts.add(frame.payloadText()));
    try (InputStream in = response.body()) {
      byte[] first = new byte[1];
      assertEquals(1, in.read(first), "first chunk arrived before the second exists");
      assertEquals(1, model.releasedChunks());
      parser.feed(io.vertx.core.buffer.Buffer.buffer(first));
      model.releaseNextChunk();
      model.releaseNextChunk();
      parser.feed(io.vertx.core.buffer.Buffer.buffer(in.readAllBytes()));
    }
    // Each chunk of the model's stream arrives as one PayloadPart event, as from SageMaker.
    assertEquals(List.of("chunk-0\n", "chunk-1\n", "chunk-2\n"), parts);
    JsonNode record = auditOf(response);
    assertEquals("invoke-stream", record.path("action").asText());
  }

  @Test
  void aStreamTheModelBreaksOffEndsWithAnExceptionEventAndItsAuditRecordSaysSo() throws Exception {
    // The model sends its head and one chunk, then nothing: the endpoint's 2 s gap timeout ends
    // the call mid-stream. The 200 is out by then, so the caller learns it from an
    // InternalStreamFailure event, and the audit record must not read like a complete answer.
    model.mode(ContainerStub.Mode.slowStream(3)).await(AWAIT_SECONDS, SECONDS);
    HttpRequest request =
        HttpCalls.post(
                port,
                "/endpoints/sentiment-test/invocations-response-stream",
                token("alice", List.of("data-scientists")),
                "{\"stream\":true}")
            .build();
    var pending = HttpCalls.client().sendAsync(request, HttpResponse.BodyHandlers.ofByteArray());
    model.invocationReceived().await(AWAIT_SECONDS, SECONDS);
    model.releaseNextChunk();
    HttpResponse<byte[]> response = pending.get(20, java.util.concurrent.TimeUnit.SECONDS);
    assertEquals(200, response.statusCode());
    List<io.sagegate.eventstream.EventStreamFrame> frames = new java.util.ArrayList<>();
    var parser = new io.sagegate.eventstream.EventStreamParser(frames::add);
    parser.feed(io.vertx.core.buffer.Buffer.buffer(response.body()));
    parser.end();
    assertEquals("chunk-0\n", frames.get(0).payloadText());
    var last = frames.get(frames.size() - 1);
    assertTrue(last.isException(), "the stream ends with an exception event");
    assertEquals("InternalStreamFailure", last.type());
    JsonNode record = auditOf(response);
    assertEquals("invoke-stream", record.path("action").asText());
    assertEquals("InternalStreamFailure", record.path("errorType").asText(), record.toString());
    assertEquals(
        "backend:stream_interrupted", record.path("errorReason").asText(), record.toString());
  }

  /** A JSON POST from a data scientist, written on a raw socket that the test can drop at will. */
  private void writePost(java.net.Socket socket, String path, String body) throws IOException {
    socket
        .getOutputStream()
        .write(
            ("POST "
                    + path
                    + " HTTP/1.1\r\n"
                    + "Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer "
                    + token("alice", List.of("data-scientists"))
                    + "\r\n"
                    + "Content-Length: "
                    + body.length()
                    + "\r\n\r\n"
                    + body)
                .getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void callerLeavingBeforeTheAnswerCancelsTheModelCallAndIsAuditedOnce() throws Exception {
    // The model takes the request and never answers; the endpoint's timeout is 60 s.
    model.mode(ContainerStub.Mode.hang()).await(AWAIT_SECONDS, SECONDS);
    String body = "{\"text\":\"leaving early\"}";
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      writePost(socket, "/endpoints/long-stream/invocations", body);
      model.invocationReceived().await(AWAIT_SECONDS, SECONDS);
    }
    // The model's call is reset at once, not left to run for nobody until the 60 s timeout.
    model.requestAborted().await(20, java.util.concurrent.TimeUnit.SECONDS);
    JsonNode record = audit.awaitFirst(r -> "long-stream".equals(r.path("endpoint").asText()));
    // Recorded as a caller who left (nginx's 499), not as the 200 an unwritten response reports.
    assertEquals(499, record.path("status").asInt(), record.toString());
    assertEquals("ClientClosedRequest", record.path("errorType").asText(), record.toString());
    assertEquals("caller:gone", record.path("errorReason").asText(), record.toString());
    assertEquals("invoke", record.path("action").asText());
    assertEquals(
        1, audit.count(record.path("requestId").asText()), "exactly one audit record per request");
  }

  @Test
  void callerLeavingAStreamCancelsTheUpstreamCallAndIsAuditedOnce() throws Exception {
    model.mode(ContainerStub.Mode.slowStream(5)).await(AWAIT_SECONDS, SECONDS);
    String body = "{\"stream\":true}";
    String head;
    try (java.net.Socket socket = new java.net.Socket("127.0.0.1", port)) {
      socket.setSoTimeout(10_000);
      writePost(socket, "/endpoints/long-stream/invocations-response-stream", body);
      model.invocationReceived().await(AWAIT_SECONDS, SECONDS);
      model.releaseNextChunk();
      // Read up to the end of the response head, and then leave mid-stream.
      StringBuilder received = new StringBuilder();
      InputStream in = socket.getInputStream();
      while (!received.toString().contains("\r\n\r\n")) {
        int b = in.read();
        assertTrue(b >= 0, "connection closed before the response head: " + received);
        received.append((char) b);
      }
      head = received.toString();
    }
    assertTrue(head.startsWith("HTTP/1.1 200"), head);
    // The upstream call is cancelled at once, not left to run (here for up to the endpoint's 60 s
    // idle timeout) for a caller who is gone.
    model.requestAborted().await(20, java.util.concurrent.TimeUnit.SECONDS);
    String id =
        head.lines()
            .filter(l -> l.toLowerCase().startsWith("x-amzn-requestid:"))
            .map(l -> l.substring(l.indexOf(':') + 1).trim())
            .findFirst()
            .orElseThrow();
    JsonNode record = audit.await(id);
    assertEquals(1, audit.count(id), "exactly one audit record per request");
    assertEquals("invoke-stream", record.path("action").asText());
    // The head (200) was sent, the rest of the stream was not: the record says the caller left.
    assertEquals(200, record.path("status").asInt(), record.toString());
    assertEquals("caller:gone", record.path("errorReason").asText(), record.toString());
  }

  @Test
  void managementPortServesHealthReadinessAndMetrics() throws Exception {
    invoke("sentiment-test", token("alice", List.of("data-scientists")));
    int management = assembly.gateway().managementPort();
    assertEquals(200, get(management, "/healthz").statusCode());
    assertEquals(200, get(management, "/readyz").statusCode());
    HttpResponse<String> metrics = get(management, "/metrics");
    assertTrue(
        metrics
            .body()
            .contains(
                "sagegate_requests_total{action=\"invoke\",decision=\"allow\",endpoint=\"sentiment-test\",status=\"2xx\"}"),
        metrics.body());
    assertTrue(metrics.body().contains("sagegate_request_duration_seconds_bucket"));
    assertTrue(metrics.body().contains("sagegate_requests_in_flight"));
    assertTrue(
        metrics.body().contains("sagegate_backend_healthy{endpoint=\"sentiment-test\"}"),
        metrics.body());
    assertFalse(metrics.body().contains("alice"), "the subject is never a label");
  }

  private static HttpResponse<String> get(int port, String path) {
    return HttpCalls.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET());
  }

  /**
   * A body no allowed test sends, so a test can tell whether a refused request reached the model.
   */
  private static final String PROBE = "{\"probe\":\"must-not-reach-the-model\"}";

  private HttpResponse<String> probe(String endpoint, String token) {
    return rawPost("/endpoints/" + endpoint + "/invocations", token);
  }

  private HttpResponse<String> rawPost(String path, String token) {
    // The JDK client keeps the path as given (no normalisation), which is what these tests need.
    return HttpCalls.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("Authorization", "Bearer " + token)
            .POST(HttpRequest.BodyPublishers.ofString(PROBE)));
  }
}
