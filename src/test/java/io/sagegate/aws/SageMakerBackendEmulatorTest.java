package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.config.AwsSettings;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.error.GatewayException;
import io.sagegate.eventstream.EventStreamFrame;
import io.sagegate.eventstream.EventStreamFrames;
import io.sagegate.eventstream.EventStreamParser;
import io.sagegate.gateway.CredentialsStageRun;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.StderrCapture;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.sagegate.testsupport.aws.SageMakerEmulator.Behaviour;
import io.sagegate.testsupport.aws.SageMakerEmulator.RecordedRequest;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.sagegate.testsupport.aws.SageMakerEmulator.Session;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * The whole AWS path against the awsemu emulator, which verifies every SigV4 signature and
 * evaluates role permissions ∩ session policy like IAM: STS sessions per caller, signed SageMaker
 * calls, IAM enforcing the decision a second time, the error model, retries, streams.
 */
class SageMakerBackendEmulatorTest {

  static final String GATEWAY_KEY = "AKIAGATEWAYTEST00001";
  static final String GATEWAY_SECRET = "gateway-test-secret-not-real";
  static final String EXTERNAL_ID = "sagegate-ext-1";

  static Vertx vertx;
  static SageMakerEmulator emulator;
  static AwsClients clients;
  static StsCredentialsProvider provider;
  static SageMakerBackendFactory factory;
  static String role;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    emulator = await(SageMakerEmulator.start(vertx));
    emulator.addCredentials(GATEWAY_KEY, GATEWAY_SECRET);
    role = emulator.roleArn("sagegate-invoke");
    emulator.addRole(
        Role.allowing(
            role,
            GATEWAY_KEY,
            EXTERNAL_ID,
            List.of("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync"),
            List.of(
                "arn:aws:sagemaker:"
                    + emulator.region()
                    + ":"
                    + emulator.accountId()
                    + ":endpoint/*")));
    AwsSettings settings = settings(EXTERNAL_ID);
    clients =
        AwsClients.create(
            settings,
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create(GATEWAY_KEY, GATEWAY_SECRET)));
    provider = StsCredentialsProvider.create(vertx, clients, settings, new SimpleMeterRegistry());
    factory = SageMakerBackendFactory.create(vertx, clients);
  }

  static AwsSettings settings(String externalId) {
    return new AwsSettings(
        emulator.region(),
        null,
        emulator.uri().toString(),
        emulator.uri().toString(),
        externalId,
        null,
        Map.of("team", "team"),
        List.of("team"),
        false,
        100,
        null);
  }

  @AfterAll
  static void stop() {
    if (factory != null) {
      factory.close();
    }
    if (clients != null) {
      clients.close();
    }
    if (emulator != null) {
      emulator.close();
    }
    if (vertx != null) {
      Bounds.join(vertx.close().toCompletionStage().toCompletableFuture());
    }
  }

  @BeforeEach
  void reset() {
    emulator.reset();
  }

  static <T> T await(Future<T> f) throws Exception {
    try {
      return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  static EndpointConfig endpoint(String name, Duration timeout, List<String> asyncPrefixes) {
    return new EndpointConfig(
        name,
        Map.of(),
        new BackendConfig("sagemaker", null, null, timeout, 0, null, role, asyncPrefixes));
  }

  static EndpointConfig endpoint(String name) {
    return endpoint(name, null, List.of("s3://inputs-bucket/in/"));
  }

  static Caller caller(String subject) {
    return new Caller(
        subject, "iss", null, null, null, null, Map.of("sub", subject, "team", "risk"), null);
  }

  static Decision allow(RuleConfig.Conditions conditions) {
    return Decision.allow(
        new RuleConfig("r", RuleConfig.Effect.ALLOW, null, null, null, null, conditions, null));
  }

  static InvocationHeaders headers(Action action, String... pairs) {
    MultiMap h = MultiMap.caseInsensitiveMultiMap();
    for (int i = 0; i < pairs.length; i += 2) {
      h.add(pairs[i], pairs[i + 1]);
    }
    return InvocationHeaders.from(h, action);
  }

  /** Obtains credentials for {@code credentialsEndpoint} and calls {@code ep} with them. */
  static Future<BackendResponse> call(
      EndpointConfig credentialsEndpoint,
      EndpointConfig ep,
      Action action,
      InvocationHeaders headers,
      Buffer body,
      Decision decision) {
    Backend backend = factory.create(ep);
    return provider
        .credentialsFor(caller("alice"), credentialsEndpoint, action, decision)
        .compose(
            creds -> {
              Invocation inv =
                  new Invocation(
                      "req-1", ep, action, caller("alice"), headers, body, creds, decision, null);
              return switch (action) {
                case INVOKE -> backend.invoke(inv);
                case INVOKE_STREAM -> backend.invokeStream(inv);
                case INVOKE_ASYNC -> backend.invokeAsync(inv);
              };
            });
  }

  static Future<BackendResponse> invoke(
      EndpointConfig ep, Action action, InvocationHeaders headers, String body) {
    return call(ep, ep, action, headers, Buffer.buffer(body), allow(null));
  }

  @Test
  void signedInvokeIsAcceptedAndHeadersMapBothWays() throws Exception {
    emulator
        .endpoint("fraud-scorer")
        .variant("Blue")
        .okBody("{\"score\":0.1}".getBytes(StandardCharsets.UTF_8), "application/json");
    BackendResponse r =
        await(
            invoke(
                endpoint("Fraud-Scorer"),
                Action.INVOKE,
                headers(
                    Action.INVOKE,
                    "Content-Type",
                    "application/json",
                    "Accept",
                    "application/json",
                    SageMakerHeaders.CUSTOM_ATTRIBUTES,
                    "trace=1",
                    SageMakerHeaders.TARGET_VARIANT,
                    "Blue",
                    SageMakerHeaders.INFERENCE_ID,
                    "inf-1"),
                "{\"x\":1}"));
    assertEquals(200, r.status());
    assertEquals("{\"score\":0.1}", r.body().toString());
    assertEquals("application/json", r.headers().get("Content-Type"));
    assertEquals("Blue", r.invokedVariant());
    assertNotNull(r.upstreamRequestId());
    RecordedRequest rec = emulator.requests(SageMakerEmulator.INVOKE).get(0);
    assertEquals(200, rec.status());
    assertEquals("alice", rec.sourceIdentity());
    assertEquals(role, rec.roleArn());
    assertEquals(Map.of("team", "risk"), rec.sessionTags());
    assertEquals("{\"x\":1}", rec.bodyText());
    assertEquals("trace=1", rec.header(SageMakerHeaders.CUSTOM_ATTRIBUTES));
    assertEquals("Blue", rec.header(SageMakerHeaders.TARGET_VARIANT));
    assertEquals("inf-1", rec.header(SageMakerHeaders.INFERENCE_ID));
    assertEquals("application/json", rec.header("Accept"));
    assertTrue(rec.sessionPolicy().contains("endpoint/fraud-scorer"), rec.sessionPolicy());
  }

  @Test
  void stsSessionCarriesExternalIdTagsAndSourceIdentity() throws Exception {
    emulator.endpoint("tags-ep");
    await(invoke(endpoint("tags-ep"), Action.INVOKE, headers(Action.INVOKE), "{}"));
    Session s =
        emulator.sessions().values().stream()
            .filter(x -> x.policy() != null && x.policy().contains("endpoint/tags-ep"))
            .findFirst()
            .orElseThrow();
    assertEquals(EXTERNAL_ID, s.externalId());
    assertEquals("alice", s.sourceIdentity());
    assertEquals("alice", s.roleSessionName());
    assertEquals(Map.of("team", "risk"), s.tags());
    assertEquals(List.of("team"), s.transitiveTagKeys());
  }

  @Test
  void sessionPolicyDeniesAnotherEndpoint() throws Exception {
    // Credentials scoped to endpoint a used on endpoint b: IAM (the emulator) refuses.
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () ->
                await(
                    call(
                        endpoint("endpoint-a"),
                        endpoint("endpoint-b"),
                        Action.INVOKE,
                        headers(Action.INVOKE),
                        Buffer.buffer("{}"),
                        allow(null))));
    assertEquals(403, e.status());
    assertEquals("AccessDeniedException", e.errorType());
    assertEquals("sagemaker:AccessDeniedException", e.auditReason());
    assertFalse(
        e.getMessage().contains("arn:aws:sts"), "IAM's text stays out of the caller's message");
    assertEquals(1, emulator.requests(SageMakerEmulator.INVOKE).size(), "no retry of a 403");
  }

  @Test
  void wrongExternalIdIsRefusedWith403() throws Exception {
    AwsSettings wrong = settings("not-the-external-id");
    try (AwsClients c =
        AwsClients.create(
            wrong,
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create(GATEWAY_KEY, GATEWAY_SECRET)))) {
      StsCredentialsProvider p =
          StsCredentialsProvider.create(vertx, c, wrong, new SimpleMeterRegistry());
      CredentialsStageRun.Outcome refused =
          CredentialsStageRun.run(
              vertx, p, caller("alice"), endpoint("x-ep"), Action.INVOKE, allow(null));
      GatewayException e = refused.error();
      assertEquals(403, e.status());
      assertEquals("sts:AccessDenied", e.auditReason());
      assertFalse(e.getMessage().contains("ExternalId"));
      refused.assertAttempt(role, "alice");
    }
  }

  @Test
  void untrustedGatewayIdentityIsRefusedWith403() throws Exception {
    emulator.addCredentials("AKIAUNTRUSTED0000001", "other-secret");
    AwsSettings s = settings(EXTERNAL_ID);
    try (AwsClients c =
        AwsClients.create(
            s,
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create("AKIAUNTRUSTED0000001", "other-secret")))) {
      StsCredentialsProvider p =
          StsCredentialsProvider.create(vertx, c, s, new SimpleMeterRegistry());
      CredentialsStageRun.Outcome refused =
          CredentialsStageRun.run(
              vertx, p, caller("alice"), endpoint("x-ep"), Action.INVOKE, allow(null));
      GatewayException e = refused.error();
      assertEquals(403, e.status());
      assertEquals("sts:AccessDenied", e.auditReason());
      refused.assertAttempt(role, "alice");
    }
  }

  @Test
  void stsRefusalOtherThanAccessDeniedIs503WithTheCodeOnlyInTheAuditReason() throws Exception {
    // Two hours asked, the role allows one: STS answers ValidationError.
    AwsSettings tooLong =
        new AwsSettings(
            emulator.region(),
            null,
            emulator.uri().toString(),
            null,
            EXTERNAL_ID,
            Duration.ofHours(2),
            null,
            null,
            false,
            10,
            null);
    try (AwsClients c =
        AwsClients.create(
            tooLong,
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create(GATEWAY_KEY, GATEWAY_SECRET)))) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      StsCredentialsProvider p = StsCredentialsProvider.create(vertx, c, tooLong, registry);
      CredentialsStageRun.Outcome failed =
          CredentialsStageRun.run(
              vertx, p, caller("alice"), endpoint("x-ep"), Action.INVOKE, allow(null));
      GatewayException e = failed.error();
      assertEquals(503, e.status());
      assertEquals("ServiceUnavailable", e.errorType());
      assertEquals("sts:ValidationError", e.auditReason());
      assertEquals("Could not obtain credentials for endpoint x-ep", e.getMessage());
      assertEquals(1.0, registry.get("sagegate.sts.errors").tag("code", "other").counter().count());
      failed.assertAttempt(role, "alice");
    }
  }

  @Test
  void modelErrorKeepsSageMakersFields() throws Exception {
    emulator.endpoint("model-err", Behaviour.MODEL_ERROR).modelError(400, "bad input row 3");
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () ->
                await(invoke(endpoint("model-err"), Action.INVOKE, headers(Action.INVOKE), "{}")));
    assertEquals(424, e.status());
    assertEquals("ModelError", e.errorType());
    assertEquals(400, e.extraFields().get("OriginalStatusCode"));
    assertEquals("bad input row 3", e.extraFields().get("OriginalMessage"));
    assertTrue(e.extraFields().containsKey("LogStreamArn"));
    assertEquals(
        1, emulator.requests(SageMakerEmulator.INVOKE).size(), "ModelError is never retried");
  }

  @Test
  void modelNotReadyIs429WithoutRetry() throws Exception {
    emulator.endpoint("not-ready", Behaviour.MODEL_NOT_READY);
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () ->
                await(invoke(endpoint("not-ready"), Action.INVOKE, headers(Action.INVOKE), "{}")));
    assertEquals(429, e.status());
    assertEquals("ModelNotReadyException", e.errorType());
    assertEquals(1, emulator.requests(SageMakerEmulator.INVOKE).size());
  }

  @Test
  void serviceUnavailableIsRetriedTwiceThen503() throws Exception {
    emulator.endpoint("unavailable", Behaviour.SERVICE_UNAVAILABLE);
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () ->
                await(
                    invoke(endpoint("unavailable"), Action.INVOKE, headers(Action.INVOKE), "{}")));
    assertEquals(503, e.status());
    assertEquals("ServiceUnavailable", e.errorType());
    assertEquals("sagemaker:ServiceUnavailable", e.auditReason());
    assertEquals(3, emulator.requests(SageMakerEmulator.INVOKE).size());
  }

  @Test
  void internalFailureIs500AfterRetries() throws Exception {
    emulator.endpoint("internal", Behaviour.INTERNAL_FAILURE);
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () -> await(invoke(endpoint("internal"), Action.INVOKE, headers(Action.INVOKE), "{}")));
    assertEquals(500, e.status());
    assertEquals("InternalFailure", e.errorType());
    assertEquals(3, emulator.requests(SageMakerEmulator.INVOKE).size());
  }

  @Test
  void noAnswerIs504() throws Exception {
    emulator.endpoint("hangs", Behaviour.HANG);
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () ->
                await(
                    invoke(
                        endpoint("hangs", Duration.ofMillis(400), List.of()),
                        Action.INVOKE,
                        headers(Action.INVOKE),
                        "{}")));
    assertEquals(504, e.status());
    assertEquals("GatewayTimeoutException", e.errorType());
  }

  /**
   * A caller that leaves while SageMaker works abandons the call: its request is reset long before
   * the 60 s timeout (the test's wait gives up at 60 s), it fails as caller_gone, and it is not
   * retried.
   */
  @Test
  void callerGoingAwayResetsTheSageMakerCall() throws Exception {
    emulator.endpoint("abandoned", Behaviour.HANG);
    EndpointConfig ep = endpoint("abandoned", Duration.ofSeconds(60), List.of());
    Promise<Void> gone = Promise.promise();
    Backend backend = factory.create(ep);
    Future<BackendResponse> answer =
        provider
            .credentialsFor(caller("alice"), ep, Action.INVOKE, allow(null))
            .compose(
                creds ->
                    backend.invoke(
                        new Invocation(
                            "req-gone",
                            ep,
                            Action.INVOKE,
                            caller("alice"),
                            headers(Action.INVOKE),
                            Buffer.buffer("{}"),
                            creds,
                            allow(null),
                            gone.future())));
    // Only once SageMaker has the request does the caller go.
    invokeReceived(0).onSuccess(r -> gone.tryComplete());
    GatewayException e = assertThrows(GatewayException.class, () -> await(answer));
    assertEquals("sagemaker:caller_gone", e.auditReason());
    await(emulator.endpoint("abandoned").awaitEarlyCloses(1));
    assertEquals(1, emulator.requests(SageMakerEmulator.INVOKE).size());
  }

  /** The first InvokeEndpoint request recorded at or after {@code index}. */
  static Future<RecordedRequest> invokeReceived(int index) {
    return emulator
        .awaitRequest(index)
        .compose(
            r ->
                r.operation().equals(SageMakerEmulator.INVOKE)
                    ? Future.succeededFuture(r)
                    : invokeReceived(index + 1));
  }

  @Test
  void anAnswerWhoseBodyStallsIs504AndTheCallIsCutOff() throws Exception {
    emulator.endpoint("stalls", Behaviour.STALL_BODY);
    GatewayException e;
    String log;
    try (StderrCapture err = StderrCapture.start()) {
      e =
          assertThrows(
              GatewayException.class,
              () ->
                  await(
                      invoke(
                          endpoint("stalls", Duration.ofMillis(400), List.of()),
                          Action.INVOKE,
                          headers(Action.INVOKE),
                          "{}")));
      // The upstream request is reset, not left open.
      await(emulator.endpoint("stalls").awaitEarlyCloses(1));
      log = err.text();
    }
    assertEquals(504, e.status());
    assertEquals("GatewayTimeoutException", e.errorType());
    assertEquals("sagemaker:timeout", e.auditReason());
    // Logged once: the reset that cuts the call off is not reported again as a failure.
    assertEquals(
        1, log.lines().filter(l -> l.contains("call for endpoint stalls failed")).count(), log);
  }

  @Test
  void oversizedBodyIsRefusedBeforeAnyCall() throws Exception {
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () ->
                await(
                    call(
                        endpoint("big"),
                        endpoint("big"),
                        Action.INVOKE,
                        headers(Action.INVOKE),
                        Buffer.buffer(new byte[6 * 1024 * 1024 + 1]),
                        allow(null))));
    assertEquals(413, e.status());
    assertTrue(emulator.requests(SageMakerEmulator.INVOKE).isEmpty());
  }

  @Test
  void largeBodyIsSignedOffTheEventLoopAndAccepted() throws Exception {
    emulator.endpoint("large");
    byte[] body = new byte[1024 * 1024];
    java.util.Arrays.fill(body, (byte) 'a');
    BackendResponse r =
        await(
            call(
                endpoint("large"),
                endpoint("large"),
                Action.INVOKE,
                headers(Action.INVOKE, "Content-Type", "text/plain"),
                Buffer.buffer(body),
                allow(null)));
    assertEquals(200, r.status());
    assertArrayEquals(body, emulator.requests(SageMakerEmulator.INVOKE).get(0).body());
  }

  @Test
  void streamPartsAreRelayedOneAtATime() throws Exception {
    SageMakerEmulator.Endpoint ep =
        emulator.endpoint("streamer").streamTextParts("one", "two", "three").manualRelease(true);
    BackendResponse r =
        await(
            invoke(
                endpoint("streamer"),
                Action.INVOKE_STREAM,
                headers(
                    Action.INVOKE_STREAM, SageMakerHeaders.STREAM_ACCEPT, "application/jsonlines"),
                "{}"));
    assertEquals(200, r.status());
    assertEquals(EventStreamFrames.CONTENT_TYPE, r.headers().get("Content-Type"));
    assertEquals(
        "application/jsonlines",
        emulator
            .requests(SageMakerEmulator.INVOKE_STREAM)
            .get(0)
            .header(SageMakerHeaders.STREAM_ACCEPT));
    List<CompletableFuture<EventStreamFrame>> frames = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      frames.add(new CompletableFuture<>());
    }
    List<EventStreamFrame> got = new ArrayList<>();
    EventStreamParser parser =
        new EventStreamParser(
            f -> {
              got.add(f);
              frames.get(got.size() - 1).complete(f);
            });
    CompletableFuture<Void> ended = new CompletableFuture<>();
    r.stream().handler(parser::feed);
    r.stream().endHandler(v -> ended.complete(null));
    r.stream().resume();
    String[] expected = {"one", "two", "three"};
    for (int i = 0; i < 3; i++) {
      await(ep.releaseNextPart());
      EventStreamFrame f = frames.get(i).get(30, TimeUnit.SECONDS);
      assertTrue(f.isPayloadPart());
      assertEquals(expected[i], new String(f.payload(), StandardCharsets.UTF_8));
      assertEquals(i + 1, got.size(), "exactly the released parts arrived");
    }
    ended.get(30, TimeUnit.SECONDS);
    assertEquals(3, got.size());
  }

  @Test
  void modelStreamErrorIsRelayed() throws Exception {
    emulator
        .endpoint("stream-err")
        .streamTextParts("a")
        .endStreamWithModelError("too slow", "ModelInvocationTimeExceeded");
    List<EventStreamFrame> frames =
        readStream(
            await(
                invoke(
                    endpoint("stream-err"),
                    Action.INVOKE_STREAM,
                    headers(Action.INVOKE_STREAM),
                    "{}")));
    assertEquals(2, frames.size());
    assertTrue(frames.get(1).isException());
    assertEquals("ModelStreamError", frames.get(1).type());
  }

  @Test
  void garbageStreamEndsWithInternalStreamFailure() throws Exception {
    emulator.endpoint("junk-stream", Behaviour.GARBAGE);
    List<EventStreamFrame> frames =
        readStream(
            await(
                invoke(
                    endpoint("junk-stream"),
                    Action.INVOKE_STREAM,
                    headers(Action.INVOKE_STREAM),
                    "{}")));
    assertEquals(1, frames.size());
    assertEquals("InternalStreamFailure", frames.get(0).type());
    assertFalse(frames.get(0).payloadText().contains("junk"));
  }

  static List<EventStreamFrame> readStream(BackendResponse r) throws Exception {
    List<EventStreamFrame> frames = new ArrayList<>();
    EventStreamParser parser = new EventStreamParser(frames::add);
    CompletableFuture<Void> ended = new CompletableFuture<>();
    r.stream().handler(parser::feed);
    r.stream()
        .endHandler(
            v -> {
              parser.end();
              ended.complete(null);
            });
    r.stream().resume();
    ended.get(30, TimeUnit.SECONDS);
    return frames;
  }

  @Test
  void asyncInvokeUnderAllowedPrefixAnswers202() throws Exception {
    emulator.endpoint("async-ep");
    BackendResponse r =
        await(
            invoke(
                endpoint("async-ep"),
                Action.INVOKE_ASYNC,
                headers(
                    Action.INVOKE_ASYNC,
                    SageMakerHeaders.INPUT_LOCATION,
                    "s3://inputs-bucket/in/req.json",
                    SageMakerHeaders.INFERENCE_ID,
                    "inf-9",
                    SageMakerHeaders.REQUEST_TTL_SECONDS,
                    "600"),
                ""));
    assertEquals(202, r.status());
    assertNotNull(r.headers().get(SageMakerHeaders.OUTPUT_LOCATION));
    assertTrue(r.body().toJsonObject().containsKey("InferenceId"));
    RecordedRequest rec = emulator.requests(SageMakerEmulator.INVOKE_ASYNC).get(0);
    assertEquals("s3://inputs-bucket/in/req.json", rec.header(SageMakerHeaders.INPUT_LOCATION));
    assertEquals("600", rec.header(SageMakerHeaders.REQUEST_TTL_SECONDS));
    assertTrue(rec.sessionPolicy().contains("sagemaker:InvokeEndpointAsync"));
  }

  @Test
  void asyncInputOutsidePrefixesIsRefusedBeforeAnyCall() throws Exception {
    emulator.endpoint("async-ep");
    for (String bad :
        List.of(
            "s3://inputs-bucket-evil/in/x",
            "s3://inputs-bucket/in/../secret/x",
            "s3://other/in/x")) {
      GatewayException e =
          assertThrows(
              GatewayException.class,
              () ->
                  await(
                      invoke(
                          endpoint("async-ep"),
                          Action.INVOKE_ASYNC,
                          headers(Action.INVOKE_ASYNC, SageMakerHeaders.INPUT_LOCATION, bad),
                          "")));
      assertEquals(403, e.status(), bad);
      assertTrue(e.getMessage().contains("is not under an allowed prefix"), e.getMessage());
    }
    // The rule's own prefixes narrow the endpoint's further.
    RuleConfig.Conditions narrow =
        new RuleConfig.Conditions(null, null, null, null, List.of("s3://inputs-bucket/in/team-a/"));
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () ->
                await(
                    call(
                        endpoint("async-ep"),
                        endpoint("async-ep"),
                        Action.INVOKE_ASYNC,
                        headers(
                            Action.INVOKE_ASYNC,
                            SageMakerHeaders.INPUT_LOCATION,
                            "s3://inputs-bucket/in/team-b/x"),
                        Buffer.buffer(),
                        allow(narrow))));
    assertEquals(403, e.status());
    assertTrue(emulator.requests(SageMakerEmulator.INVOKE_ASYNC).isEmpty());
    BackendResponse ok =
        await(
            call(
                endpoint("async-ep"),
                endpoint("async-ep"),
                Action.INVOKE_ASYNC,
                headers(
                    Action.INVOKE_ASYNC,
                    SageMakerHeaders.INPUT_LOCATION,
                    "s3://inputs-bucket/in/team-a/x"),
                Buffer.buffer(),
                allow(narrow)));
    assertEquals(202, ok.status());
  }

  @Test
  void credentialsAreReusedAcrossCalls() throws Exception {
    emulator.endpoint("reuse");
    await(invoke(endpoint("reuse"), Action.INVOKE, headers(Action.INVOKE), "{}"));
    await(invoke(endpoint("reuse"), Action.INVOKE, headers(Action.INVOKE), "{}"));
    assertEquals(1, emulator.requests(SageMakerEmulator.ASSUME_ROLE).size());
    assertEquals(2, emulator.requests(SageMakerEmulator.INVOKE).size());
  }
}
