package io.sagegate.cli;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.config.ConfigLoader;
import io.sagegate.gateway.GatewayAssembly;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.HttpCalls;
import io.sagegate.testsupport.RecordingAuditSink;
import io.vertx.core.Vertx;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code explain} is the policy simulator: for the same claims, endpoint, source address and target
 * it must name the decision and the rule that the gateway itself names in the audit record. The
 * gateway runs on a random port against a real OIDC issuer (mock-oauth2-server, through discovery)
 * and reads the very file explain reads; explain gets the claims of the token the gateway verified.
 */
class ExplainAgreesWithGatewayIntegrationTest {

  private static final String ISSUER = "corp";
  private static final String AUDIENCE = "sagegate";

  @TempDir static Path dir;
  private static MockOAuth2Server oidc;
  private static Vertx vertx;
  private static ContainerStub model;
  private static RecordingAuditSink audit;
  private static GatewayAssembly assembly;
  private static Path config;
  private static int port;

  @BeforeAll
  static void start() throws Exception {
    oidc = new MockOAuth2Server();
    oidc.start();
    vertx = Vertx.vertx();
    model = ContainerStub.start(vertx).await(AWAIT_SECONDS, SECONDS);
    config = dir.resolve("gateway.yaml");
    Files.writeString(
        config,
        """
        server: {port: 0, managementPort: 0}
        auth:
          discoveryUrl: %s
          issuer: %s
          audiences: [%s]
          claims: {groups: groups, scopes: scp}
        # Only refused calls go to the sagemaker endpoint: STS is never asked, so it need not run.
        aws: {region: eu-west-1, accountId: "111122223333", stsEndpoint: "http://127.0.0.1:9",
              sagemakerRuntimeEndpoint: "http://127.0.0.1:9"}
        endpoints:
          - name: async-scorer
            backend:
              type: sagemaker
              roleArn: arn:aws:iam::111122223333:role/invoke
              asyncInputPrefixes: ["s3://bucket/fraud/"]
          - name: fraud-scorer
            tags: {env: prod, team: risk}
            backend: {type: container, url: "%s"}
          - name: sentiment-test
            tags: {env: test}
            backend: {type: container, url: "%s"}
        rules:
          - id: loopback-deny
            effect: deny
            principal: {subjects: [mallory]}
            conditions: {sourceCidrs: [127.0.0.0/8]}
          - id: offsite-deny
            effect: deny
            principal: {subjects: [bob]}
            conditions: {sourceCidrs: [203.0.113.0/24]}
          - id: domain-admins
            effect: allow
            principal: {groups: [Domain Admins]}
            resource: {endpoints: [fraud-*]}
          - id: plain-admins
            effect: allow
            principal: {groups: [Admins]}
          - id: realm-scorers
            effect: allow
            principal: {claims: {realm_access.roles: [scorer]}}
            resource: {tags: {env: [prod]}}
          - id: scp-readers
            effect: allow
            principal: {scopes: [read]}
            resource: {endpoints: [sentiment-*]}
          - id: variant-b
            effect: allow
            principal: {subjects: [vic]}
            conditions: {targetVariants: [variant-b]}
          - id: bob-risk
            effect: allow
            principal: {subjects: [bob]}
            resource: {tags: {team: [risk]}}
          # Conditions are part of matching (IAM): a deny limited to a prefix, and a conditional
          # allow before and after an unconditional one, and a deny after an allow.
          - id: ivy-secret-deny
            effect: deny
            principal: {subjects: [ivy]}
            conditions: {inputLocations: ["s3://bucket/fraud/secret/"]}
          - id: ivy-all
            effect: allow
            principal: {subjects: [ivy]}
          - id: kim-public-only
            effect: allow
            principal: {subjects: [kim]}
            conditions: {inputLocations: ["s3://bucket/public/"]}
          - id: kim-all
            effect: allow
            principal: {subjects: [kim]}
          - id: lou-all
            effect: allow
            principal: {subjects: [lou]}
          - id: lou-public-only
            effect: allow
            principal: {subjects: [lou]}
            conditions: {inputLocations: ["s3://bucket/public/"]}
          - id: max-all
            effect: allow
            principal: {subjects: [max]}
          - id: max-secret-deny
            effect: deny
            principal: {subjects: [max]}
            conditions: {inputLocations: ["s3://bucket/fraud/secret/"]}
          - id: nia-variant-a-deny
            effect: deny
            principal: {subjects: [nia]}
            conditions: {targetVariants: [variant-a]}
          - id: nia-variant-b-only
            effect: allow
            principal: {subjects: [nia]}
            conditions: {targetVariants: [variant-b]}
          - id: nia-all
            effect: allow
            principal: {subjects: [nia]}
        """
            .formatted(
                oidc.wellKnownUrl(ISSUER),
                oidc.issuerUrl(ISSUER),
                AUDIENCE,
                model.url(),
                model.url()));
    audit = new RecordingAuditSink();
    assembly =
        GatewayAssembly.start(
                vertx,
                ConfigLoader.read(config).config(),
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT),
                audit,
                dir)
            .await(AWAIT_SECONDS, SECONDS);
    port = assembly.gateway().port();
  }

  @AfterAll
  static void stop() throws Exception {
    assembly.close().await(AWAIT_SECONDS, SECONDS);
    model.close().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
    oidc.shutdown();
  }

  record Case(
      String subject,
      Map<String, Object> claims,
      String endpoint,
      String variant,
      String expected,
      String inputLocation) {
    Case(
        String subject,
        Map<String, Object> claims,
        String endpoint,
        String variant,
        String expected) {
      this(subject, claims, endpoint, variant, expected, null);
    }

    /** An async call with this input location. */
    static Case async(String subject, String inputLocation, String expected) {
      return async(subject, "sentiment-test", inputLocation, expected);
    }

    static Case async(String subject, String endpoint, String inputLocation, String expected) {
      return new Case(subject, Map.of(), endpoint, null, expected, inputLocation);
    }
  }

  @Test
  void explainNamesTheDecisionAndRuleTheGatewayAudits() {
    List<Case> cases =
        List.of(
            new Case("bob", Map.of(), "fraud-scorer", null, "allow bob-risk"),
            new Case("bob", Map.of(), "sentiment-test", null, "deny default-deny"),
            new Case(
                "mallory",
                Map.of("groups", List.of("Admins")),
                "fraud-scorer",
                null,
                "deny loopback-deny"),
            new Case(
                "carol",
                Map.of("groups", "Domain Admins"),
                "fraud-scorer",
                null,
                "allow domain-admins"),
            new Case(
                "dave",
                Map.of("groups", "Domain Admins"),
                "sentiment-test",
                null,
                "deny default-deny"),
            new Case(
                "erin",
                Map.of("realm_access", Map.of("roles", List.of("scorer"))),
                "fraud-scorer",
                null,
                "allow realm-scorers"),
            new Case(
                "erin",
                Map.of("realm_access", "scorer"),
                "fraud-scorer",
                null,
                "deny default-deny"),
            new Case(
                "sam", Map.of("scp", "write read"), "sentiment-test", null, "allow scp-readers"),
            new Case(
                "sam", Map.of("scp", List.of("read")), "sentiment-test", null, "allow scp-readers"),
            new Case("vic", Map.of(), "sentiment-test", "variant-b", "allow variant-b"),
            new Case("vic", Map.of(), "sentiment-test", null, "deny default-deny"),
            new Case("bob", Map.of(), "no-such-endpoint", null, "deny unknown-endpoint"),
            // A deny conditioned on a prefix refuses only that prefix.
            Case.async("ivy", "s3://bucket/fraud/secret/a.json", "deny ivy-secret-deny"),
            Case.async("ivy", "s3://bucket/fraud/public/a.json", "allow ivy-all"),
            // A conditional allow whose condition fails does not block a later unconditional one.
            Case.async("kim", "s3://bucket/private/a.json", "allow kim-all"),
            Case.async("kim", "s3://bucket/public/a.json", "allow kim-public-only"),
            // The other order: the first matching allow decides.
            Case.async("lou", "s3://bucket/private/a.json", "allow lou-all"),
            Case.async("lou", "s3://bucket/public/a.json", "allow lou-all"),
            // A deny later in the file still wins where its condition holds.
            Case.async("max", "s3://bucket/fraud/secret/a.json", "deny max-secret-deny"),
            Case.async("max", "s3://bucket/fraud/public/a.json", "allow max-all"),
            // The endpoint's own prefixes refuse what the rules allow, before any STS call; a
            // rule's
            // deny is still the rule's.
            Case.async(
                "ivy", "async-scorer", "s3://bucket/other/a.json", "deny endpoint-input-prefixes"),
            Case.async(
                "ivy", "async-scorer", "s3://bucket/fraud/secret/a.json", "deny ivy-secret-deny"),
            // A synchronous call names no input location: an inputLocations deny does not apply.
            new Case("ivy", Map.of(), "sentiment-test", null, "allow ivy-all"),
            // Variant conditions in both orders too.
            new Case("nia", Map.of(), "sentiment-test", "variant-a", "deny nia-variant-a-deny"),
            new Case("nia", Map.of(), "sentiment-test", "variant-b", "allow nia-variant-b-only"),
            new Case("nia", Map.of(), "sentiment-test", "variant-c", "allow nia-all"));
    List<String> disagreements = new ArrayList<>();
    for (Case c : cases) {
      String token = oidc.issueToken(ISSUER, c.subject(), AUDIENCE, c.claims(), 3600).serialize();
      boolean async = c.inputLocation() != null;
      HttpRequest.Builder request =
          HttpCalls.post(
              port,
              "/endpoints/" + c.endpoint() + (async ? "/async-invocations" : "/invocations"),
              token,
              "{}");
      if (c.variant() != null) {
        request.header("X-Amzn-SageMaker-Target-Variant", c.variant());
      }
      if (async) {
        request.header("X-Amzn-SageMaker-InputLocation", c.inputLocation());
      }
      HttpResponse<String> response = HttpCalls.send(request);
      JsonNode record =
          audit.await(response.headers().firstValue("x-amzn-RequestId").orElseThrow());
      String gateway = record.path("decision").asText() + " " + record.path("ruleId").asText();
      assertEquals(c.expected(), gateway, "gateway, " + c);
      // An allowed async call reaches the container backend, which does not do async inference
      // (a 400 after the decision); what matters here is the decision, which was not a 403.
      int allowedStatus = async ? 400 : 200;
      assertEquals(
          gateway.startsWith("allow") ? allowedStatus : 403,
          response.statusCode(),
          c + ": " + response.body());

      List<String> args =
          new ArrayList<>(
              List.of(
                  "--config",
                  config.toString(),
                  "--claims",
                  payload(token),
                  "--endpoint",
                  c.endpoint(),
                  "--source-ip",
                  record.path("sourceIp").asText()));
      if (c.variant() != null) {
        args.addAll(List.of("--target-variant", c.variant()));
      }
      if (async) {
        args.addAll(List.of("--action", "invoke-async", "--input-location", c.inputLocation()));
      }
      String explained = explain(args);
      if (!explained.equals(gateway)) {
        disagreements.add(c + ": gateway " + gateway + ", explain " + explained);
      }
    }
    assertTrue(disagreements.isEmpty(), String.join("\n", disagreements));
  }

  /** The verified token's claims, as explain takes them. */
  private static String payload(String token) {
    return new String(Base64.getUrlDecoder().decode(token.split("\\.")[1]), StandardCharsets.UTF_8);
  }

  /** explain's decision and rule, as "allow rule-id". */
  private static String explain(List<String> args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new ExplainCommand())
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err))
            .execute(args.toArray(new String[0]));
    String decision = line(out.toString(), "Decision:");
    String rule = line(out.toString(), "Rule:");
    if (decision == null || rule == null) {
      return "exit " + code + ": " + err;
    }
    return decision.toLowerCase(java.util.Locale.ROOT) + " " + rule;
  }

  private static String line(String text, String label) {
    for (String l : text.split("\\R")) {
      if (l.startsWith(label)) {
        return l.substring(label.length()).strip();
      }
    }
    return null;
  }
}
