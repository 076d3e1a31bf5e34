package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.config.AwsSettings;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.CredentialsStageRun;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.aws.MotoServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * StsCredentialsProvider against a real moto server with IAM enforcement on: the gateway user may
 * assume the invoke role, an intruder may not. Moto 5.2.1 does not evaluate role trust policies or
 * sts:ExternalId (its AssumeRole accepts any role ARN), so those refusals are proven against the
 * awsemu emulator instead; here the refusal comes from the caller's identity policy.
 */
class StsCredentialsProviderMotoTest {

  static final String ROLE = "arn:aws:iam::" + MotoServer.ACCOUNT + ":role/sagegate-invoke";
  static final String ROLE2 = "arn:aws:iam::" + MotoServer.ACCOUNT + ":role/sagegate-invoke-2";
  static final String EXTERNAL_ID = "sagegate-test-external-id";

  static MotoServer moto;
  static Vertx vertx;
  static AwsCredentials gateway;
  static AwsCredentials intruder;

  @BeforeAll
  static void start() throws Exception {
    moto = MotoServer.start();
    vertx = Vertx.vertx();
    setUpIam(moto);
    gateway = moto.createUser(MotoServer.anyCredentials(), "sagegate-gateway");
    intruder = moto.createUser(MotoServer.anyCredentials(), "intruder");
    moto.iam(
        MotoServer.anyCredentials(),
        Map.of(
            "Action",
            "PutUserPolicy",
            "UserName",
            "sagegate-gateway",
            "PolicyName",
            "assume-invoke-roles",
            "PolicyDocument",
            "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"sts:AssumeRole\","
                + "\"sts:TagSession\",\"sts:SetSourceIdentity\"],\"Resource\":[\""
                + ROLE
                + "\",\""
                + ROLE2
                + "\"]}]}"));
    moto.resetAuth(0);
  }

  /** Roles whose trust policy trusts the gateway user and requires the ExternalId. */
  static void setUpIam(MotoServer moto) throws Exception {
    String trust =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":"
            + "\"arn:aws:iam::"
            + MotoServer.ACCOUNT
            + ":user/sagegate-gateway\"},\"Action\":[\"sts:AssumeRole\","
            + "\"sts:TagSession\",\"sts:SetSourceIdentity\"],\"Condition\":{\"StringEquals\":{\"sts:ExternalId\":\""
            + EXTERNAL_ID
            + "\"}}}]}";
    for (String name : List.of("sagegate-invoke", "sagegate-invoke-2")) {
      moto.iam(
          MotoServer.anyCredentials(),
          Map.of("Action", "CreateRole", "RoleName", name, "AssumeRolePolicyDocument", trust));
      moto.iam(
          MotoServer.anyCredentials(),
          Map.of(
              "Action",
              "PutRolePolicy",
              "RoleName",
              name,
              "PolicyName",
              "invoke",
              "PolicyDocument",
              "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sagemaker:InvokeEndpoint*\","
                  + "\"Resource\":\"*\"}]}"));
    }
  }

  @AfterAll
  static void stop() {
    if (moto != null) {
      moto.close();
    }
    if (vertx != null) {
      Bounds.join(vertx.close().toCompletionStage().toCompletableFuture());
    }
  }

  static AwsSettings settings(String stsEndpoint) {
    return new AwsSettings(
        MotoServer.REGION,
        null,
        stsEndpoint,
        null,
        EXTERNAL_ID,
        null,
        Map.of("team", "team"),
        List.of("team"),
        false,
        100,
        null);
  }

  static EndpointConfig endpoint(String name, String roleArn) {
    return new EndpointConfig(
        name,
        Map.of(),
        new BackendConfig(
            "sagemaker", null, null, null, 0, null, roleArn, List.of("s3://bucket/in/")));
  }

  static Caller caller(String subject) {
    return new Caller(
        subject, "iss", null, null, null, null, Map.of("sub", subject, "team", "risk"), null);
  }

  static Decision allow() {
    return Decision.allow(
        new RuleConfig("r", RuleConfig.Effect.ALLOW, null, null, null, null, null, null));
  }

  static <T> T await(Future<T> f) throws Exception {
    try {
      return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  /** How many AssumeRole calls moto has served (its sts AssumedRole model instances). */
  static int assumeCalls() throws Exception {
    HttpResponse<String> r =
        HttpClient.newHttpClient()
            .send(
                HttpRequest.newBuilder(URI.create(moto.url() + "/moto-api/data.json")).build(),
                HttpResponse.BodyHandlers.ofString());
    JsonNode roles = new ObjectMapper().readTree(r.body()).path("sts").path("AssumedRole");
    return roles.size();
  }

  record Fixture(AwsClients clients, StsCredentialsProvider provider, SimpleMeterRegistry registry)
      implements AutoCloseable {
    @Override
    public void close() {
      clients.close();
    }
  }

  static Fixture fixture(AwsCredentials as) {
    return fixture(as, settings(moto.url()));
  }

  static Fixture fixture(AwsCredentials as, AwsSettings settings) {
    AwsClients clients = AwsClients.create(settings, StaticCredentialsProvider.create(as));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    return new Fixture(
        clients, StsCredentialsProvider.create(vertx, clients, settings, registry), registry);
  }

  @Test
  void assumesTheRoleWithTheCallersIdentity() throws Exception {
    try (Fixture f = fixture(gateway)) {
      ScopedCredentials c =
          await(
              f.provider()
                  .credentialsFor(
                      caller("alice"), endpoint("Fraud-Scorer", ROLE), Action.INVOKE, allow()));
      assertTrue(c.credentials() instanceof AwsSessionCredentials);
      assertNotNull(((AwsSessionCredentials) c.credentials()).sessionToken());
      assertEquals(ROLE, c.roleArn());
      assertEquals("alice", c.sourceIdentity());
      assertEquals("alice", c.sessionName());
      assertTrue(c.expiration().isAfter(Instant.now()));
      assertFalse(c.toString().contains(c.credentials().secretAccessKey()));
      assertEquals(1, f.registry().get("sagegate.sts.duration").timer().count());
    }
  }

  @Test
  void ruleRoleTakesPrecedenceOverTheEndpointRole() throws Exception {
    try (Fixture f = fixture(gateway)) {
      Decision decision =
          Decision.allow(
              new RuleConfig("r2", RuleConfig.Effect.ALLOW, null, null, null, null, null, ROLE2));
      ScopedCredentials c =
          await(
              f.provider()
                  .credentialsFor(caller("bob"), endpoint("e1", ROLE), Action.INVOKE, decision));
      assertEquals(ROLE2, c.roleArn());
    }
  }

  @Test
  void secondIdenticalRequestIsServedFromTheCache() throws Exception {
    try (Fixture f = fixture(gateway)) {
      int before = assumeCalls();
      ScopedCredentials first =
          await(
              f.provider()
                  .credentialsFor(caller("carol"), endpoint("e2", ROLE), Action.INVOKE, allow()));
      ScopedCredentials second =
          await(
              f.provider()
                  .credentialsFor(caller("carol"), endpoint("e2", ROLE), Action.INVOKE, allow()));
      assertEquals(before + 1, assumeCalls());
      assertEquals(first.credentials().accessKeyId(), second.credentials().accessKeyId());
      assertEquals(
          1.0,
          f.registry().get("sagegate.credentials.cache").tag("result", "hit").counter().count());
      assertEquals(
          1.0,
          f.registry().get("sagegate.credentials.cache").tag("result", "miss").counter().count());
      // A different action, endpoint or caller is a different session.
      await(
          f.provider()
              .credentialsFor(caller("carol"), endpoint("e2", ROLE), Action.INVOKE_ASYNC, allow()));
      await(
          f.provider()
              .credentialsFor(caller("carol"), endpoint("e3", ROLE), Action.INVOKE, allow()));
      await(
          f.provider()
              .credentialsFor(caller("dave"), endpoint("e2", ROLE), Action.INVOKE, allow()));
      assertEquals(before + 4, assumeCalls());
      // invoke and invoke-stream share the IAM action, hence the session.
      await(
          f.provider()
              .credentialsFor(
                  caller("carol"), endpoint("e2", ROLE), Action.INVOKE_STREAM, allow()));
      assertEquals(before + 4, assumeCalls());
    }
  }

  @Test
  void concurrentIdenticalRequestsShareOneStsCall() throws Exception {
    try (Fixture f = fixture(gateway)) {
      int before = assumeCalls();
      CompletableFuture<List<ScopedCredentials>> all = new CompletableFuture<>();
      vertx.runOnContext(
          v -> {
            List<Future<ScopedCredentials>> futures = new ArrayList<>();
            for (int i = 0; i < 25; i++) {
              futures.add(
                  f.provider()
                      .credentialsFor(
                          caller("erin"), endpoint("e4", ROLE), Action.INVOKE, allow()));
            }
            Future.all(futures)
                .onComplete(
                    ar -> {
                      if (ar.failed()) {
                        all.completeExceptionally(ar.cause());
                      } else {
                        all.complete(ar.result().list());
                      }
                    });
          });
      List<ScopedCredentials> results = all.get(60, TimeUnit.SECONDS);
      assertEquals(25, results.size());
      assertEquals(1, results.stream().map(c -> c.credentials().accessKeyId()).distinct().count());
      assertEquals(before + 1, assumeCalls());
    }
  }

  @Test
  void identityWithoutAssumeRolePermissionIsRefusedWith403() throws Exception {
    try (Fixture f = fixture(intruder)) {
      CredentialsStageRun.Outcome refused =
          CredentialsStageRun.run(
              vertx, f.provider(), caller("mallory"), endpoint("e5", ROLE), Action.INVOKE, allow());
      GatewayException e = refused.error();
      assertEquals(403, e.status());
      assertEquals("AccessDeniedException", e.errorType());
      assertEquals("sts:AccessDenied", e.auditReason());
      assertFalse(
          e.getMessage().contains("not authorized to perform"),
          "STS's text must not reach the caller");
      assertTrue(e.getMessage().contains("e5"), e.getMessage());
      assertEquals(
          1.0,
          f.registry().get("sagegate.sts.errors").tag("code", "AccessDenied").counter().count());
      refused.assertAttempt(ROLE, "mallory");
    }
  }

  @Test
  void endpointWithoutRoleIsAConfigurationError() throws Exception {
    try (Fixture f = fixture(gateway)) {
      int before = assumeCalls();
      CredentialsStageRun.Outcome refused =
          CredentialsStageRun.run(
              vertx, f.provider(), caller("alice"), endpoint("e6", null), Action.INVOKE, allow());
      GatewayException e = refused.error();
      assertEquals(503, e.status());
      assertEquals("sts:no_role_configured", e.auditReason());
      refused.assertAttempt(null, null);
      assertEquals(before, assumeCalls());
    }
  }

  @Test
  void refusedSubjectMakesNoStsCall() throws Exception {
    try (Fixture f = fixture(gateway)) {
      int before = assumeCalls();
      CredentialsStageRun.Outcome refused =
          CredentialsStageRun.run(
              vertx,
              f.provider(),
              caller("aws:root"),
              endpoint("e7", ROLE),
              Action.INVOKE,
              allow());
      GatewayException e = refused.error();
      assertEquals(403, e.status());
      assertEquals("sts:invalid_source_identity", e.auditReason());
      // The role it was refused for is recorded; no session name or SourceIdentity was derived.
      refused.assertAttempt(ROLE, null);
      assertEquals(before, assumeCalls());
    }
  }

  @Test
  void unreachableStsIs503() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    try (Fixture f = fixture(gateway, settings("http://127.0.0.1:" + closedPort))) {
      CredentialsStageRun.Outcome failed =
          CredentialsStageRun.run(
              vertx, f.provider(), caller("alice"), endpoint("e8", ROLE), Action.INVOKE, allow());
      GatewayException e = failed.error();
      assertEquals(503, e.status());
      assertEquals("ServiceUnavailable", e.errorType());
      assertEquals("sts:unreachable", e.auditReason());
      assertNotEquals(
          0.0, f.registry().get("sagegate.sts.errors").tag("code", "other").counter().count());
      failed.assertAttempt(ROLE, "alice");
    }
  }
}
