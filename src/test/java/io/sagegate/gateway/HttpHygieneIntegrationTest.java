package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * HTTP hygiene over raw sockets (and a real h2c client): what the HTTP decoder refuses (a bad
 * version, an empty header name, a malformed chunked body, headers that never finish) is answered
 * in SageMaker's error shape with a request id and exactly one truthful audit record; HTTP/2
 * cleartext is served only when configured, and then a refused stream never takes an allowed one
 * down with it.
 */
class HttpHygieneIntegrationTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String ISSUER = "corp";

  private static MockOAuth2Server oidc;
  private static Vertx vertx;
  private static ContainerStub model;
  @TempDir static Path keys;

  private RecordingAuditSink audit;

  /** How many records were written before the exchange under test. */
  private int baseline;

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
  void resetModel() throws Exception {
    model.mode(ContainerStub.Mode.ok()).await(AWAIT_SECONDS, SECONDS);
  }

  @AfterEach
  void stopGateway() throws Exception {
    if (assembly != null) {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
    }
  }

  /** Starts the gateway with {@code serverExtra} added to its server settings. */
  private void start(String serverExtra) throws Exception {
    String url = model.url().toString();
    String yaml =
        """
        server: {port: 0, managementPort: 0, maxBodyBytes: 65536, maxHeaderBytes: 8192%s}
        auth:
          discoveryUrl: %s
          issuer: %s
          audiences: [sagegate]
          leeway: 5s
        endpoints:
          - name: sentiment-test
            tags: {env: test}
            backend: {type: container, url: "%s", timeout: 2s}
          - name: long-stream
            tags: {env: test}
            backend: {type: container, url: "%s", timeout: 60s}
        rules:
          - id: data-scientists-test
            effect: allow
            principal: {groups: [data-scientists]}
            resource: {tags: {env: [test]}}
            actions: [invoke, invoke-stream]
        """
            .formatted(
                serverExtra.isEmpty() ? "" : ", " + serverExtra,
                oidc.wellKnownUrl(ISSUER),
                oidc.issuerUrl(ISSUER),
                url,
                url);
    audit = new RecordingAuditSink();
    baseline = 0;
    assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.parse(yaml, "hygiene.yaml"),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                audit,
                keys)
            .await(AWAIT_SECONDS, SECONDS);
    port = assembly.gateway().port();
  }

  private static String token(String subject, List<String> groups) {
    return oidc.issueToken(ISSUER, subject, "sagegate", Map.of("groups", groups), 3600).serialize();
  }

  /** A raw response: status line, headers (lower-cased names) and body. */
  private record Raw(String statusLine, Map<String, String> headers, String body) {
    int status() {
      return Integer.parseInt(statusLine.split(" ")[1]);
    }
  }

  private static Raw parse(String text) {
    int split = text.indexOf("\r\n\r\n");
    assertTrue(split > 0, "a whole response head: " + text);
    String[] lines = text.substring(0, split).split("\r\n");
    Map<String, String> headers = new java.util.HashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers.put(
          lines[i].substring(0, colon).trim().toLowerCase(), lines[i].substring(colon + 1).trim());
    }
    return new Raw(lines[0], headers, text.substring(split + 4));
  }

  /** Writes {@code bytes} on a fresh connection and reads until the gateway closes it. */
  private Raw exchange(String bytes) throws IOException {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(15_000);
      socket.getOutputStream().write(bytes.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      return parse(readToEnd(socket.getInputStream()));
    }
  }

  private static String readToEnd(InputStream in) throws IOException {
    return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
  }

  /**
   * Checks the SageMaker error shape (status, x-amzn-ErrorType, JSON __type and message, request
   * id) and that the request has exactly one audit record, with the status really sent.
   */
  private JsonNode assertError(Raw response, int status, String type) throws Exception {
    assertEquals(status, response.status(), response.toString());
    assertTrue(
        response.statusLine().startsWith("HTTP/1.1 "),
        "answered as HTTP/1.1: " + response.statusLine());
    assertEquals(type, response.headers().get("x-amzn-errortype"), response.toString());
    assertEquals("application/json", response.headers().get("content-type"));
    JsonNode body = JSON.readTree(response.body());
    assertEquals(type, body.path("__type").asText());
    assertFalse(body.path("message").asText().isBlank(), "the message names what is wrong");
    String id = response.headers().get("x-amzn-requestid");
    assertNotNull(id, "the answer carries a request id");
    JsonNode record = audit.await(id);
    assertEquals(status, record.path("status").asInt(), record.toString());
    assertEquals(type, record.path("errorType").asText(), record.toString());
    assertNotEquals("caller:gone", record.path("errorReason").asText(), record.toString());
    assertOneRecordOnly(id);
    return record;
  }

  /** Exactly one record in all, and it is the one of {@code id}. */
  private void assertOneRecordOnly(String id) {
    assertEquals(1, audit.count(id), "exactly one audit record per request");
    assertEquals(baseline + 1, audit.all().size(), "no other record: " + audit.all());
  }

  private static final String HEAD = "POST /endpoints/sentiment-test/invocations ";

  @Test
  void anUnsupportedHttpVersionIs505InTheErrorShape() throws Exception {
    start("");
    Raw response = exchange(HEAD + "HTTP/1.2\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    JsonNode record = assertError(response, 505, "HttpVersionNotSupportedException");
    assertFalse(response.toString().contains("HTTP/1.2 "), "the bogus version is not echoed");
    assertEquals("http:unsupported_version", record.path("errorReason").asText());
  }

  @Test
  void aMalformedHttpVersionIs400InTheErrorShape() throws Exception {
    start("");
    Raw response = exchange(HEAD + "FOO/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    JsonNode record = assertError(response, 400, "ValidationError");
    assertEquals("http:malformed_version", record.path("errorReason").asText());
  }

  @Test
  void anEmptyHeaderNameIs400() throws Exception {
    start("");
    Raw response = exchange(HEAD + "HTTP/1.1\r\nHost: x\r\n: no-name\r\nContent-Length: 0\r\n\r\n");
    JsonNode record = assertError(response, 400, "ValidationError");
    assertEquals("http:invalid_request", record.path("errorReason").asText());
    assertTrue(
        JSON.readTree(response.body()).path("message").asText().contains("empty header name"),
        response.body());
  }

  /** How many invocations (not health checks) the model has received. */
  private static long invocations() {
    return model.received().stream().filter(r -> r.path().equals("/invocations")).count();
  }

  /** A chunked POST for an allowed call whose body is broken by {@code badChunks}. */
  private String chunkedPost(String authorization, String badChunks) {
    return HEAD
        + "HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + (authorization == null ? "" : "Authorization: Bearer " + authorization + "\r\n")
        + "Transfer-Encoding: chunked\r\n\r\n"
        + badChunks;
  }

  @Test
  void aMalformedChunkedBodyIs400BeforeTheConnectionCloses() throws Exception {
    start("");
    String scientist = token("alice", List.of("data-scientists"));
    Map<String, String> broken =
        Map.of(
            "bad size", "2\r\n{}\r\nzz\r\nxx\r\n0\r\n\r\n",
            "overflow", "2\r\n{}\r\nfffffffffffffffffff\r\nxx\r\n0\r\n\r\n",
            "missing CRLF", "2\r\n{}XX3\r\nabc\r\n0\r\n\r\n");
    for (var entry : broken.entrySet()) {
      baseline = audit.all().size();
      long received = invocations();
      Raw response = exchange(chunkedPost(scientist, entry.getValue()));
      JsonNode record = assertError(response, 400, "ValidationError");
      assertEquals(
          "http:malformed_body",
          record.path("errorReason").asText(),
          entry.getKey() + ": " + record);
      assertEquals(received, invocations(), entry.getKey() + ": nothing reached the model");
    }
  }

  @Test
  void aRefusedCallWithAMalformedChunkedBodyIsAuditedAsWhatWasSent() throws Exception {
    // No token: the 401 is answered before the body is read; the broken chunk follows at once.
    start("");
    Raw response = exchange(chunkedPost(null, "zz\r\nxx\r\n0\r\n\r\n"));
    String id = response.headers().get("x-amzn-requestid");
    assertNotNull(id, response.toString());
    JsonNode record = audit.await(id);
    assertEquals(
        response.status(),
        record.path("status").asInt(),
        "the record says what was sent: " + record);
    assertEquals(response.headers().get("x-amzn-errortype"), record.path("errorType").asText());
    assertOneRecordOnly(id);
  }

  @Test
  void headersThatDoNotArriveInTimeAre408() throws Exception {
    start("headerTimeout: 1s");
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(15_000);
      // A slowloris: the request line and one header, then nothing more.
      socket
          .getOutputStream()
          .write((HEAD + "HTTP/1.1\r\nHost: x\r\n").getBytes(StandardCharsets.US_ASCII));
      long start = System.nanoTime();
      Raw response = parse(readToEnd(socket.getInputStream()));
      long waited = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertTrue(
          waited >= 900 && waited < 10_000, "answered after the header timeout: " + waited + " ms");
      JsonNode record = assertError(response, 408, "RequestTimeoutException");
      assertEquals("http:header_timeout", record.path("errorReason").asText());
    }
  }

  @Test
  void aBodyThatStopsArrivingIsEndedByTheGatewayAndNotAuditedAsACallerWhoLeft() throws Exception {
    // The body stalls mid-way; the connection's idle timeout (700 ms: under a second counts too)
    // ends the request: that is the gateway's doing, answered 408 before the close, and never
    // recorded as caller:gone.
    start("idleTimeout: 700ms");
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(15_000);
      socket
          .getOutputStream()
          .write(
              (HEAD
                      + "HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      + "Authorization: Bearer "
                      + token("alice", List.of("data-scientists"))
                      + "\r\n"
                      + "Content-Length: 100\r\n\r\n{\"text\":")
                  .getBytes(StandardCharsets.US_ASCII));
      Raw response = parse(readToEnd(socket.getInputStream()));
      JsonNode record = assertError(response, 408, "RequestTimeoutException");
      assertEquals("http:idle_timeout", record.path("errorReason").asText());
      assertEquals("sentiment-test", record.path("endpoint").asText());
    }
  }

  @Test
  void theHeaderTimeoutDefaultsToTenSecondsAndHttp2ToOff() throws Exception {
    assertEquals(
        java.time.Duration.ofSeconds(10),
        io.sagegate.config.ServerSettings.defaults().headerTimeout());
    assertFalse(io.sagegate.config.ServerSettings.defaults().http2());
    var read =
        ConfigLoader.parse(
            "server: {headerTimeout: 2500ms, http2: true}\nauth: {devIssuer: true}\n", "s.yaml");
    assertEquals(java.time.Duration.ofMillis(2500), read.server().headerTimeout());
    assertTrue(read.server().http2());
    var refused =
        org.junit.jupiter.api.Assertions.assertThrows(
            io.sagegate.config.ConfigException.class,
            () ->
                ConfigLoader.parse(
                    "server: {headerTimeout: 0s}\nauth: {devIssuer: true}\n", "s.yaml"));
    assertTrue(refused.getMessage().contains("server.headerTimeout"), refused.getMessage());
  }

  @Test
  void aCallerThatHangsUpMidHeadersIsNotAuditedAsAnAnswerNeverSent() throws Exception {
    start("");
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket
          .getOutputStream()
          .write((HEAD + "HTTP/1.1\r\nHost: x\r\nX-Half").getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
    }
    JsonNode record = audit.awaitFirst(r -> true);
    assertEquals(499, record.path("status").asInt(), record.toString());
    assertEquals("ClientClosedRequest", record.path("errorType").asText(), record.toString());
    assertEquals("caller:gone", record.path("errorReason").asText(), record.toString());
    assertOneRecordOnly(record.path("requestId").asText());

    // Gone in the middle of the request line: no request reached Vert.x, and it is recorded too.
    baseline = 1;
    String first = record.path("requestId").asText();
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.getOutputStream().write("POST /endpoints/sentim".getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
    }
    JsonNode cut = audit.awaitFirst(r -> !r.path("requestId").asText().equals(first));
    assertEquals(499, cut.path("status").asInt(), cut.toString());
    assertEquals("caller:gone", cut.path("errorReason").asText(), cut.toString());
    assertOneRecordOnly(cut.path("requestId").asText());
  }

  @Test
  void http2IsOffByDefault() throws Exception {
    start("");
    // An h2c client with prior knowledge opens with the HTTP/2 preface; served as HTTP/1.1 only,
    // that is a request line with an unsupported version.
    Raw response = exchange("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
    assertError(response, 505, "HttpVersionNotSupportedException");
  }

  /** One response, read up to the end of its Content-Length body, the connection left open. */
  private static String readOneResponse(InputStream in) throws IOException {
    StringBuilder head = new StringBuilder();
    while (!head.toString().endsWith("\r\n\r\n")) {
      int b = in.read();
      assertTrue(b >= 0, "connection closed inside a response head: " + head);
      head.append((char) b);
    }
    Raw raw = parse(head.toString());
    byte[] body = in.readNBytes(Integer.parseInt(raw.headers().get("content-length")));
    return head + new String(body, StandardCharsets.ISO_8859_1);
  }

  private static final String NO_TOKEN =
      "POST /endpoints/sentiment-test/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";

  @Test
  void aSlowHeadPipelinedBehindAnAnsweredRequestIs408() throws Exception {
    start("headerTimeout: 1s");
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(15_000);
      // Both in one write: the slow head's first bytes arrive with the end of the first request.
      socket
          .getOutputStream()
          .write((NO_TOKEN + HEAD + "HTTP/1.1\r\nHost: x\r\n").getBytes(StandardCharsets.US_ASCII));
      String both = readToEnd(socket.getInputStream());
      int second = both.indexOf("HTTP/1.1 408");
      assertTrue(both.startsWith("HTTP/1.1 401") && second > 0, both);
      baseline = 1;
      assertError(parse(both.substring(second)), 408, "RequestTimeoutException");
    }
  }

  @Test
  void withHttp2OnHttp1RequestsAreStillCheckedAndSlowHeadsTimeOutAfterAConnectionsFirstRequest()
      throws Exception {
    start("http2: true, headerTimeout: 1s");
    // The first request of a connection passes Vert.x's h2c upgrade check, then the gateway's.
    assertError(
        exchange(HEAD + "HTTP/1.2\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
        505,
        "HttpVersionNotSupportedException");
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(15_000);
      socket.getOutputStream().write(NO_TOKEN.getBytes(StandardCharsets.US_ASCII));
      assertTrue(readOneResponse(socket.getInputStream()).startsWith("HTTP/1.1 401"));
      socket
          .getOutputStream()
          .write((HEAD + "HTTP/1.1\r\nHost: x\r\n").getBytes(StandardCharsets.US_ASCII));
      baseline = audit.all().size();
      assertError(parse(readToEnd(socket.getInputStream())), 408, "RequestTimeoutException");
    }
  }

  @Test
  void withHttp2OnARefusedStreamIsResetAloneAndEveryStreamIsAuditedWithItsStatus()
      throws Exception {
    start("http2: true");
    model.mode(ContainerStub.Mode.slowStream(2)).await(AWAIT_SECONDS, SECONDS);
    HttpClient client =
        vertx.createHttpClient(
            new HttpClientOptions()
                .setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false),
            new PoolOptions().setHttp2MaxSize(1));
    try {
      String scientist = token("alice", List.of("data-scientists"));
      java.util.concurrent.atomic.AtomicReference<Buffer> allowedBody =
          new java.util.concurrent.atomic.AtomicReference<>();
      // The allowed stream: the model holds its answer until the test releases it.
      Future<HttpClientResponse> allowed =
          client
              .request(
                  new RequestOptions()
                      .setMethod(HttpMethod.POST)
                      .setHost("127.0.0.1")
                      .setPort(port)
                      .setURI("/endpoints/long-stream/invocations-response-stream")
                      .putHeader("Authorization", "Bearer " + scientist)
                      .putHeader("Content-Type", "application/json"))
              .compose(request -> request.send(Buffer.buffer("{\"stream\":true}")))
              // The body is taken on the event loop, as the response arrives, so none of it is
              // missed.
              .compose(
                  response ->
                      response
                          .body()
                          .map(
                              body -> {
                                allowedBody.set(body);
                                return response;
                              }));
      model.invocationReceived().await(20, TimeUnit.SECONDS);
      // The refused stream, on the same connection: no token, and a body that keeps coming.
      HttpClientRequest refusedRequest =
          client
              .request(
                  new RequestOptions()
                      .setMethod(HttpMethod.POST)
                      .setHost("127.0.0.1")
                      .setPort(port)
                      .setURI("/endpoints/sentiment-test/invocations")
                      .putHeader("Content-Type", "application/json"))
              .await(20, TimeUnit.SECONDS);
      refusedRequest.setChunked(true);
      refusedRequest.write(Buffer.buffer(new byte[32 * 1024])).await(20, TimeUnit.SECONDS);
      HttpClientResponse refused = refusedRequest.response().await(20, TimeUnit.SECONDS);
      assertEquals(401, refused.statusCode());
      assertEquals("UnauthorizedException", refused.getHeader("x-amzn-ErrorType"));
      assertEquals("HTTP_2", refused.version().name());
      String refusedId = refused.getHeader("x-amzn-RequestId");
      JsonNode refusedRecord = audit.await(refusedId);
      assertEquals(401, refusedRecord.path("status").asInt(), refusedRecord.toString());
      assertEquals("UnauthorizedException", refusedRecord.path("errorType").asText());
      // The refused stream's end left the allowed one, on the same connection, untouched.
      model.releaseNextChunk();
      model.releaseNextChunk();
      HttpClientResponse response = allowed.await(20, TimeUnit.SECONDS);
      Buffer body = allowedBody.get();
      assertEquals(200, response.statusCode());
      assertTrue(body.length() > 0);
      assertEquals(
          response.request().connection(), refused.request().connection(), "one connection");
      String id = response.getHeader("x-amzn-RequestId");
      JsonNode record = audit.await(id);
      assertEquals(200, record.path("status").asInt(), record.toString());
      assertTrue(
          record.path("errorType").isMissingNode() || record.path("errorType").isNull(),
          record.toString());
      assertEquals(1, audit.count(id));
      assertEquals(1, audit.count(refusedId));
      // A plain call on the same connection: its real status too.
      model.mode(ContainerStub.Mode.ok()).await(AWAIT_SECONDS, SECONDS);
      HttpClientResponse plain =
          client
              .request(
                  new RequestOptions()
                      .setMethod(HttpMethod.POST)
                      .setHost("127.0.0.1")
                      .setPort(port)
                      .setURI("/endpoints/sentiment-test/invocations")
                      .putHeader("Authorization", "Bearer " + scientist)
                      .putHeader("Content-Type", "application/json"))
              .compose(request -> request.send(Buffer.buffer("{\"text\":\"great\"}")))
              .compose(r -> r.body().map(b -> r))
              .await(20, TimeUnit.SECONDS);
      assertEquals(200, plain.statusCode());
      JsonNode plainRecord = audit.await(plain.getHeader("x-amzn-RequestId"));
      assertEquals(200, plainRecord.path("status").asInt(), plainRecord.toString());
      assertTrue(
          plainRecord.path("errorType").isMissingNode() || plainRecord.path("errorType").isNull(),
          plainRecord.toString());
      assertEquals(3, audit.all().size(), audit.all().toString());
    } finally {
      client.close().await(AWAIT_SECONDS, SECONDS);
    }
  }
}
