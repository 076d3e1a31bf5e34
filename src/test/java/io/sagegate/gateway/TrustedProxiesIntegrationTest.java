package io.sagegate.gateway;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Source-address rules and the audit record behind a proxy, over real sockets: the test's HTTP
 * client plays the proxy at 127.0.0.1 and sends X-Forwarded-For as a load balancer would. With
 * {@code trustedProxies: [127.0.0.1/32]} the forwarded client address decides and is audited (the
 * proxy as {@code peerIp}); without it the header changes nothing.
 */
class TrustedProxiesIntegrationTest {

  private static final String ISSUER = "corp";
  private static final String AUDIENCE = "sagegate";
  private static final String OFFICE = "203.0.113.7";
  private static final String ELSEWHERE = "198.51.100.9";

  private static MockOAuth2Server oidc;
  private static Vertx vertx;
  private static ContainerStub model;
  @TempDir static Path keys;

  private RecordingAuditSink audit;
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

  @AfterEach
  void stopGateway() throws Exception {
    if (assembly != null) {
      assembly.close().await(AWAIT_SECONDS, SECONDS);
    }
  }

  /** Starts the gateway with {@code server.trustedProxies} as given (YAML list; null: none). */
  private void start(String trustedProxies) throws Exception {
    startWith(trustedProxies == null ? "" : ", trustedProxies: " + trustedProxies);
  }

  /** Starts the gateway with {@code serverSettings} added to its server section. */
  private void startWith(String serverSettings) throws Exception {
    String yaml =
        """
        server: {port: 0, managementPort: 0%s}
        auth:
          discoveryUrl: %s
          issuer: %s
          audiences: [%s]
          minKeyRefreshInterval: 1h
        endpoints:
          - name: fraud-scorer
            backend: {type: container, url: "%s", timeout: 2s}
        rules:
          - id: partners-from-office
            effect: allow
            principal: {groups: [partners]}
            conditions: {sourceCidrs: [203.0.113.0/24]}
          - id: locals-only
            effect: allow
            principal: {groups: [locals]}
            conditions: {sourceCidrs: [127.0.0.0/8, "::1/128"]}
        """
            .formatted(
                serverSettings,
                oidc.wellKnownUrl(ISSUER),
                oidc.issuerUrl(ISSUER),
                AUDIENCE,
                model.url());
    audit = new RecordingAuditSink();
    assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.parse(yaml, "proxies.yaml"),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                audit,
                keys)
            .await(AWAIT_SECONDS, SECONDS);
    port = assembly.gateway().port();
  }

  private HttpResponse<String> invoke(String group, String... forwardedFor) {
    String token =
        oidc.issueToken(ISSUER, "pat", AUDIENCE, Map.of("groups", List.of(group)), 3600)
            .serialize();
    HttpRequest.Builder request =
        HttpCalls.post(port, "/endpoints/fraud-scorer/invocations", token, "{}");
    for (String line : forwardedFor) {
      request.header("X-Forwarded-For", line); // one header line each
    }
    return HttpCalls.send(request);
  }

  /** The request's one audit record, checked against the response's status. */
  private JsonNode auditOf(HttpResponse<?> response) {
    String id = response.headers().firstValue("x-amzn-RequestId").orElseThrow();
    JsonNode record = audit.await(id);
    assertEquals(1, audit.count(id), "exactly one audit record per request");
    assertEquals(response.statusCode(), record.path("status").asInt());
    return record;
  }

  private JsonNode assertDecided(
      HttpResponse<String> response, int status, String ruleId, String sourceIp, String peerIp) {
    assertEquals(status, response.statusCode(), response.body());
    if (status == 403) {
      assertEquals(
          "AccessDeniedException", response.headers().firstValue("x-amzn-ErrorType").orElse(null));
    }
    JsonNode record = auditOf(response);
    assertEquals(ruleId, record.path("ruleId").asText());
    assertEquals(sourceIp, record.path("sourceIp").asText());
    if (peerIp == null) {
      assertFalse(record.has("peerIp"), record.toString());
    } else {
      assertEquals(peerIp, record.path("peerIp").asText());
    }
    return record;
  }

  @Test
  void behindATrustedProxyTheForwardedClientDecidesAndIsAudited() throws Exception {
    start("[127.0.0.1/32]");

    assertDecided(invoke("partners", OFFICE), 200, "partners-from-office", OFFICE, "127.0.0.1");
    assertDecided(invoke("partners", ELSEWHERE), 403, "default-deny", ELSEWHERE, "127.0.0.1");
    // The proxy's own address no longer counts as the caller's.
    assertDecided(invoke("locals", ELSEWHERE), 403, "default-deny", ELSEWHERE, "127.0.0.1");
    // No header: the peer is the client, and no peerIp.
    assertDecided(invoke("locals"), 200, "locals-only", "127.0.0.1", null);
    assertDecided(invoke("partners"), 403, "default-deny", "127.0.0.1", null);
  }

  @Test
  void aClientCannotForwardItsWayIn() throws Exception {
    start("[127.0.0.1/32]");

    // The client wrote the office address itself; the proxy appended the address it really saw.
    assertDecided(
        invoke("partners", OFFICE + ", " + ELSEWHERE), 403, "default-deny", ELSEWHERE, "127.0.0.1");
    // The same as two header lines: one list, read from the right.
    assertDecided(
        invoke("partners", OFFICE, ELSEWHERE), 403, "default-deny", ELSEWHERE, "127.0.0.1");
    assertDecided(
        invoke("partners", ELSEWHERE, OFFICE), 200, "partners-from-office", OFFICE, "127.0.0.1");
    // Garbage is never the client: the last good address (here the proxy) is.
    assertDecided(invoke("partners", "unknown"), 403, "default-deny", "127.0.0.1", null);
    assertDecided(
        invoke("partners", OFFICE + ", not-an-ip"), 403, "default-deny", "127.0.0.1", null);
    assertDecided(invoke("locals", "not-an-ip"), 200, "locals-only", "127.0.0.1", null);
  }

  @Test
  void withoutTrustedProxiesTheHeaderIsIgnored() throws Exception {
    start(null);

    assertDecided(invoke("partners", OFFICE), 403, "default-deny", "127.0.0.1", null);
    assertDecided(invoke("locals", ELSEWHERE), 200, "locals-only", "127.0.0.1", null);
  }

  @Test
  void aPeerOutsideTheTrustedProxiesIsTheClientWhateverItSends() throws Exception {
    start("[10.0.0.0/8]");

    assertDecided(invoke("partners", OFFICE), 403, "default-deny", "127.0.0.1", null);
    assertDecided(invoke("locals", ELSEWHERE), 200, "locals-only", "127.0.0.1", null);
  }

  @Test
  void behindAnNlbThePROXYProtocolHeaderNamesTheClient() throws Exception {
    startWith(", proxyProtocol: true");

    Raw allowed = rawInvoke("PROXY TCP4 " + OFFICE + " 10.0.0.1 40000 8080\r\n", "partners", null);
    assertEquals(200, allowed.status(), allowed.text());
    JsonNode record = audit.await(allowed.requestId());
    assertEquals("partners-from-office", record.path("ruleId").asText());
    assertEquals(OFFICE, record.path("sourceIp").asText());
    assertEquals("127.0.0.1", record.path("peerIp").asText(), "the load balancer itself");

    Raw denied =
        rawInvoke("PROXY TCP4 " + ELSEWHERE + " 10.0.0.1 40000 8080\r\n", "partners", OFFICE);
    assertEquals(403, denied.status(), denied.text());
    JsonNode deniedRecord = audit.await(denied.requestId());
    assertEquals(
        ELSEWHERE,
        deniedRecord.path("sourceIp").asText(),
        "X-Forwarded-For is still ignored: no proxy is trusted");

    // A connection without the header is closed unanswered: nobody reaches the pipeline around it.
    Raw bare = rawInvoke("", "partners", null);
    assertEquals(-1, bare.status(), bare.text());
  }

  @Test
  void proxyProtocolAndTrustedProxiesTogether() throws Exception {
    // NLB (PROXY header naming the ingress) -> ingress (X-Forwarded-For) -> sagegate.
    startWith(", proxyProtocol: true, trustedProxies: [10.1.0.0/16]");

    Raw call = rawInvoke("PROXY TCP4 10.1.2.3 10.0.0.1 40000 8080\r\n", "partners", OFFICE);
    assertEquals(200, call.status(), call.text());
    JsonNode record = audit.await(call.requestId());
    assertEquals(OFFICE, record.path("sourceIp").asText());
    assertEquals("127.0.0.1", record.path("peerIp").asText());
  }

  @Test
  void theProxyForwardingForItselfInAnotherFormIsNoSecondAddress() throws Exception {
    start("[127.0.0.1/32]");

    // A dual-stack proxy writes its own IPv4 address IPv4-mapped: the same address as the peer.
    assertDecided(invoke("locals", "::ffff:127.0.0.1"), 200, "locals-only", "127.0.0.1", null);
    assertDecided(
        invoke("locals", "0:0:0:0:0:ffff:7f00:1, 127.0.0.1"),
        200,
        "locals-only",
        "127.0.0.1",
        null);
  }

  @Test
  void aPROXYHeaderNamingTheLoadBalancerIPv4MappedIsNoSecondAddress() throws Exception {
    startWith(", proxyProtocol: true");

    // The header (TCP6, from a dual-stack balancer) names the very peer the socket comes from.
    Raw call =
        rawInvoke("PROXY TCP6 ::ffff:127.0.0.1 ::ffff:10.0.0.1 40000 8080\r\n", "locals", null);
    assertEquals(200, call.status(), call.text());
    JsonNode record = audit.await(call.requestId());
    assertEquals("locals-only", record.path("ruleId").asText());
    assertFalse(record.has("peerIp"), record.toString());
  }

  /** A response read off a raw socket: status -1 when the connection closed without one. */
  private record Raw(int status, String requestId, String text) {}

  /** One HTTP/1.1 call on a raw socket, after {@code preface} (the PROXY header, or nothing). */
  private Raw rawInvoke(String preface, String group, String forwardedFor) throws Exception {
    String token =
        oidc.issueToken(ISSUER, "pat", AUDIENCE, Map.of("groups", List.of(group)), 3600)
            .serialize();
    String request =
        preface
            + "POST /endpoints/fraud-scorer/invocations HTTP/1.1\r\n"
            + "Host: 127.0.0.1:"
            + port
            + "\r\n"
            + "Authorization: Bearer "
            + token
            + "\r\n"
            + (forwardedFor == null ? "" : "X-Forwarded-For: " + forwardedFor + "\r\n")
            + "Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout(20_000);
      socket.getOutputStream().write(request.getBytes(StandardCharsets.US_ASCII));
      socket.getOutputStream().flush();
      String text;
      try {
        text = new String(socket.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
      } catch (java.net.SocketException reset) {
        text = "";
      }
      if (!text.startsWith("HTTP/1.1 ")) {
        return new Raw(-1, null, text);
      }
      int status = Integer.parseInt(text.substring(9, 12));
      String id =
          text.lines()
              .filter(l -> l.toLowerCase().startsWith("x-amzn-requestid:"))
              .map(l -> l.substring(l.indexOf(':') + 1).trim())
              .findFirst()
              .orElseThrow();
      return new Raw(status, id, text);
    }
  }
}
