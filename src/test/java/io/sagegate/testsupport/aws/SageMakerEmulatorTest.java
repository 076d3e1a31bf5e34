package io.sagegate.testsupport.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.aws.SageMakerEmulator.Behaviour;
import io.sagegate.testsupport.aws.SageMakerEmulator.RecordedRequest;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sagemakerruntime.SageMakerRuntimeAsyncClient;
import software.amazon.awssdk.services.sagemakerruntime.model.InternalFailureException;
import software.amazon.awssdk.services.sagemakerruntime.model.InvokeEndpointAsyncResponse;
import software.amazon.awssdk.services.sagemakerruntime.model.InvokeEndpointResponse;
import software.amazon.awssdk.services.sagemakerruntime.model.InvokeEndpointWithResponseStreamResponse;
import software.amazon.awssdk.services.sagemakerruntime.model.InvokeEndpointWithResponseStreamResponseHandler;
import software.amazon.awssdk.services.sagemakerruntime.model.ModelErrorException;
import software.amazon.awssdk.services.sagemakerruntime.model.ModelNotReadyException;
import software.amazon.awssdk.services.sagemakerruntime.model.ModelStreamErrorException;
import software.amazon.awssdk.services.sagemakerruntime.model.SageMakerRuntimeException;
import software.amazon.awssdk.services.sagemakerruntime.model.ServiceUnavailableException;
import software.amazon.awssdk.services.sagemakerruntime.model.ValidationErrorException;
import software.amazon.awssdk.services.sts.StsAsyncClient;
import software.amazon.awssdk.services.sts.model.AssumeRoleRequest;
import software.amazon.awssdk.services.sts.model.AssumeRoleResponse;
import software.amazon.awssdk.services.sts.model.Credentials;
import software.amazon.awssdk.services.sts.model.MalformedPolicyDocumentException;
import software.amazon.awssdk.services.sts.model.PackedPolicyTooLargeException;
import software.amazon.awssdk.services.sts.model.StsException;
import software.amazon.awssdk.services.sts.model.Tag;

/**
 * The emulator, driven by the real AWS SDK clients over real sockets: if the SDK parses our STS
 * XML, our SageMaker JSON errors and our event-stream frames, the gateway's SDK-based backend can
 * rely on the emulator's answers.
 */
class SageMakerEmulatorTest {

  // Test-only credentials the emulator itself defines; not AWS secrets.
  private static final String GATEWAY_KEY = "AKIAGATEWAYEMULATOR1";
  private static final String GATEWAY_SECRET = "gateway-test-secret-known-only-to-the-emulator";
  private static final String OTHER_KEY = "AKIAOTHERPRINCIPAL01";
  private static final String OTHER_SECRET = "other-test-secret";
  private static final String EXTERNAL_ID = "sagegate-test-external-id";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Vertx vertx;
  private static SageMakerEmulator emulator;
  private static SdkAsyncHttpClient http;
  private static StsAsyncClient sts;
  private static String roleArn;
  private static String narrowRoleArn;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    emulator = await(SageMakerEmulator.start(vertx));
    roleArn = emulator.roleArn("sagegate-invoke");
    narrowRoleArn = emulator.roleArn("team/sagegate-narrow");
    emulator
        .addCredentials(GATEWAY_KEY, GATEWAY_SECRET)
        .addCredentials(OTHER_KEY, OTHER_SECRET)
        .addRole(
            Role.allowing(
                roleArn,
                GATEWAY_KEY,
                EXTERNAL_ID,
                List.of("sagemaker:InvokeEndpoint*"),
                List.of("arn:aws:sagemaker:us-east-1:123456789012:endpoint/*")))
        .addRole(
            Role.allowing(
                narrowRoleArn,
                GATEWAY_KEY,
                null,
                List.of("sagemaker:InvokeEndpoint"),
                List.of("arn:aws:sagemaker:us-east-1:123456789012:endpoint/allowed-?")));
    http = NettyNioAsyncHttpClient.builder().build();
    sts = stsFor(GATEWAY_KEY, GATEWAY_SECRET);
  }

  @AfterAll
  static void stop() {
    sts.close();
    http.close();
    await(emulator.stop());
    await(vertx.close());
  }

  @BeforeEach
  void resetEmulator() {
    emulator.reset();
  }

  // ---- STS
  // ----------------------------------------------------------------------------------------

  @Test
  void assumeRoleThenInvokeWithTheSessionThroughTheSdk() throws Exception {
    emulator.endpoint("My-Endpoint").variant("variant-b");
    String policy = onlyEndpointPolicy("my-endpoint");
    AssumeRoleResponse assumed =
        Bounds.join(
            sts.assumeRole(
                AssumeRoleRequest.builder()
                    .roleArn(roleArn)
                    .roleSessionName("sagegate-alice")
                    .externalId(EXTERNAL_ID)
                    .durationSeconds(900)
                    .sourceIdentity("alice@example.com")
                    .policy(policy)
                    .tags(
                        Tag.builder().key("sagegate:subject").value("alice").build(),
                        Tag.builder().key("team").value("ml").build())
                    .transitiveTagKeys("team")
                    .build()));

    Credentials c = assumed.credentials();
    assertTrue(c.accessKeyId().startsWith("ASIA"));
    assertNotNull(c.secretAccessKey());
    assertNotNull(c.sessionToken());
    Instant expiration = c.expiration();
    assertTrue(expiration.isAfter(Instant.now().plusSeconds(800)), expiration.toString());
    assertTrue(expiration.isBefore(Instant.now().plusSeconds(1000)), expiration.toString());
    assertEquals(
        "arn:aws:sts::123456789012:assumed-role/sagegate-invoke/sagegate-alice",
        assumed.assumedRoleUser().arn());
    assertTrue(assumed.assumedRoleUser().assumedRoleId().endsWith(":sagegate-alice"));
    assertEquals("alice@example.com", assumed.sourceIdentity());
    assertNotNull(assumed.packedPolicySize());

    SageMakerEmulator.Session session = emulator.sessions().get(c.accessKeyId());
    assertEquals(policy, session.policy());
    assertEquals(Map.of("sagegate:subject", "alice", "team", "ml"), session.tags());
    assertEquals(List.of("team"), session.transitiveTagKeys());
    assertEquals(EXTERNAL_ID, session.externalId());

    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c)) {
      InvokeEndpointResponse r =
          Bounds.join(
              sm.invokeEndpoint(
                  b ->
                      b.endpointName("My-Endpoint")
                          .contentType("application/json")
                          .customAttributes("trace=1")
                          .body(SdkBytes.fromUtf8String("{\"inputs\":\"hi\"}"))));
      JsonNode body = JSON.readTree(r.body().asByteArray());
      assertEquals("My-Endpoint", body.get("endpoint").asText());
      assertEquals(15, body.get("requestBytes").asInt());
      assertEquals("application/json", r.contentType());
      assertEquals("variant-b", r.invokedProductionVariant());
      assertEquals("trace=1", r.customAttributes());
    }

    List<RecordedRequest> assumes = emulator.requests(SageMakerEmulator.ASSUME_ROLE);
    assertEquals(1, assumes.size());
    assertEquals(GATEWAY_KEY, assumes.get(0).accessKeyId());
    assertEquals(EXTERNAL_ID, assumes.get(0).params().get("ExternalId"));
    RecordedRequest invoke = emulator.requests(SageMakerEmulator.INVOKE).get(0);
    assertEquals(200, invoke.status());
    assertEquals("My-Endpoint", invoke.endpointName());
    assertEquals(c.accessKeyId(), invoke.accessKeyId());
    assertEquals("alice@example.com", invoke.sourceIdentity());
    assertEquals(policy, invoke.sessionPolicy());
    assertEquals("alice", invoke.sessionTags().get("sagegate:subject"));
    assertEquals(roleArn, invoke.roleArn());
    assertEquals("{\"inputs\":\"hi\"}", invoke.bodyText());
    assertEquals("trace=1", invoke.header("X-Amzn-SageMaker-Custom-Attributes"));
  }

  @Test
  void wrongOrMissingExternalIdIsAccessDenied() {
    StsException wrong =
        stsFailure(
            sts.assumeRole(b -> b.roleArn(roleArn).roleSessionName("s1").externalId("not-it")));
    assertEquals(403, wrong.statusCode());
    assertEquals("AccessDenied", wrong.awsErrorDetails().errorCode());
    assertTrue(wrong.awsErrorDetails().errorMessage().contains("sts:AssumeRole"));
    StsException missing =
        stsFailure(sts.assumeRole(b -> b.roleArn(roleArn).roleSessionName("s1")));
    assertEquals("AccessDenied", missing.awsErrorDetails().errorCode());
    assertTrue(
        emulator.sessions().values().stream().noneMatch(s -> s.roleSessionName().equals("s1")));
  }

  @Test
  void untrustedCallerUnknownKeyAndBadSecretAreRefused() {
    try (StsAsyncClient other = stsFor(OTHER_KEY, OTHER_SECRET);
        StsAsyncClient unknown = stsFor("AKIAUNKNOWNKEY000000", "x");
        StsAsyncClient badSecret = stsFor(GATEWAY_KEY, "not-the-secret")) {
      StsException untrusted =
          stsFailure(
              other.assumeRole(
                  b -> b.roleArn(roleArn).roleSessionName("s2").externalId(EXTERNAL_ID)));
      assertEquals("AccessDenied", untrusted.awsErrorDetails().errorCode());
      StsException noRole =
          stsFailure(
              sts.assumeRole(b -> b.roleArn(emulator.roleArn("nope")).roleSessionName("s2")));
      assertEquals("AccessDenied", noRole.awsErrorDetails().errorCode());
      StsException unknownKey =
          stsFailure(
              unknown.assumeRole(
                  b -> b.roleArn(roleArn).roleSessionName("s2").externalId(EXTERNAL_ID)));
      assertEquals(403, unknownKey.statusCode());
      assertEquals("InvalidClientTokenId", unknownKey.awsErrorDetails().errorCode());
      StsException bad =
          stsFailure(
              badSecret.assumeRole(
                  b -> b.roleArn(roleArn).roleSessionName("s2").externalId(EXTERNAL_ID)));
      assertEquals(403, bad.statusCode());
      assertEquals("SignatureDoesNotMatch", bad.awsErrorDetails().errorCode());
    }
  }

  @Test
  void stsValidatesPolicyTagsAndDuration() {
    StringBuilder big = new StringBuilder(onlyEndpointPolicy("x"));
    big.insert(big.length() - 1, ",\"Pad\":\"" + "p".repeat(2100) + "\"");
    Throwable tooLarge =
        failure(
            sts.assumeRole(
                b ->
                    b.roleArn(roleArn)
                        .roleSessionName("s3")
                        .externalId(EXTERNAL_ID)
                        .policy(big.toString())));
    assertInstanceOf(PackedPolicyTooLargeException.class, tooLarge);
    assertEquals(400, ((StsException) tooLarge).statusCode());

    Throwable malformed =
        failure(
            sts.assumeRole(
                b ->
                    b.roleArn(roleArn)
                        .roleSessionName("s3")
                        .externalId(EXTERNAL_ID)
                        .policy("{\"Statement\": [")));
    assertInstanceOf(MalformedPolicyDocumentException.class, malformed);
    Throwable notAction =
        failure(
            sts.assumeRole(
                b ->
                    b.roleArn(roleArn)
                        .roleSessionName("s3")
                        .externalId(EXTERNAL_ID)
                        .policy(
                            "{\"Statement\":{\"Effect\":\"Allow\","
                                + "\"NotAction\":\"s3:*\",\"Resource\":\"*\"}}")));
    assertInstanceOf(MalformedPolicyDocumentException.class, notAction);

    List<Tag> tags = new ArrayList<>();
    for (int i = 0; i < 51; i++) {
      tags.add(Tag.builder().key("k" + i).value("v").build());
    }
    StsException tooMany =
        stsFailure(
            sts.assumeRole(
                b -> b.roleArn(roleArn).roleSessionName("s3").externalId(EXTERNAL_ID).tags(tags)));
    assertEquals(400, tooMany.statusCode());
    assertEquals("ValidationError", tooMany.awsErrorDetails().errorCode());
    assertTrue(tooMany.awsErrorDetails().errorMessage().contains("50"));

    StsException tooLong =
        stsFailure(
            sts.assumeRole(
                b ->
                    b.roleArn(roleArn)
                        .roleSessionName("s3")
                        .externalId(EXTERNAL_ID)
                        .durationSeconds(7200)));
    assertEquals("ValidationError", tooLong.awsErrorDetails().errorCode());
    assertTrue(tooLong.awsErrorDetails().errorMessage().contains("MaxSessionDuration"));

    StsException badName =
        stsFailure(
            sts.assumeRole(
                b -> b.roleArn(roleArn).roleSessionName("has space").externalId(EXTERNAL_ID)));
    assertEquals("ValidationError", badName.awsErrorDetails().errorCode());
    assertTrue(emulator.requests().stream().allMatch(r -> r.status() == 400));
  }

  // ---- SageMaker Runtime authorisation
  // -----------------------------------------------------------

  @Test
  void sessionPolicyDeniesAnotherEndpointAndAnotherAction() {
    emulator.endpoint("ep-a");
    emulator.endpoint("ep-b");
    Credentials c = assume(roleArn, EXTERNAL_ID, onlyEndpointPolicy("ep-a"));
    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c)) {
      assertEquals(
          200,
          Bounds.join(
                  sm.invokeEndpoint(
                      b -> b.endpointName("ep-a").body(SdkBytes.fromUtf8String("{}"))))
              .sdkHttpResponse()
              .statusCode());

      SageMakerRuntimeException denied =
          smFailure(
              sm.invokeEndpoint(b -> b.endpointName("ep-b").body(SdkBytes.fromUtf8String("{}"))));
      assertEquals(403, denied.statusCode());
      assertEquals("AccessDeniedException", denied.awsErrorDetails().errorCode());
      assertEquals(
          "User: arn:aws:sts::123456789012:assumed-role/sagegate-invoke/sagegate-test"
              + " is not authorized to perform: sagemaker:InvokeEndpoint on resource:"
              + " arn:aws:sagemaker:us-east-1:123456789012:endpoint/ep-b because no session policy"
              + " allows the sagemaker:InvokeEndpoint action",
          denied.awsErrorDetails().errorMessage());

      SageMakerRuntimeException async =
          smFailure(
              sm.invokeEndpointAsync(
                  b -> b.endpointName("ep-a").inputLocation("s3://bucket/in.json")));
      assertEquals("AccessDeniedException", async.awsErrorDetails().errorCode());
      assertTrue(async.awsErrorDetails().errorMessage().contains("sagemaker:InvokeEndpointAsync"));
    }
    RecordedRequest deniedRecord = emulator.requests(SageMakerEmulator.INVOKE).get(1);
    assertEquals(403, deniedRecord.status());
    assertEquals("AccessDeniedException", deniedRecord.errorType());
  }

  @Test
  void rolePermissionBoundsAWideSessionPolicy() {
    emulator.endpoint("allowed-1");
    emulator.endpoint("allowed-12");
    Credentials c =
        assume(
            narrowRoleArn,
            null,
            "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\","
                + "\"Resource\":\"*\"},{\"Effect\":\"Deny\",\"Action\":\"sagemaker:*\","
                + "\"Resource\":\"arn:aws:sagemaker:*:*:endpoint/allowed-2\"}]}");
    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c)) {
      Bounds.join(
          sm.invokeEndpoint(b -> b.endpointName("Allowed-1").body(SdkBytes.fromUtf8String("{}"))));
      SageMakerRuntimeException notInRole =
          smFailure(
              sm.invokeEndpoint(
                  b -> b.endpointName("allowed-12").body(SdkBytes.fromUtf8String("{}"))));
      assertTrue(
          notInRole
              .awsErrorDetails()
              .errorMessage()
              .endsWith(
                  "because no identity-based policy allows the sagemaker:InvokeEndpoint action"));
      SageMakerRuntimeException explicit =
          smFailure(
              sm.invokeEndpoint(
                  b -> b.endpointName("allowed-2").body(SdkBytes.fromUtf8String("{}"))));
      assertTrue(
          explicit
              .awsErrorDetails()
              .errorMessage()
              .endsWith("with an explicit deny in a session policy"));
    }
  }

  @Test
  void baseCredentialsHaveNoSageMakerPermission() {
    emulator.endpoint("ep-a");
    try (SageMakerRuntimeAsyncClient sm =
        sageMakerFor(
            StaticCredentialsProvider.create(
                AwsBasicCredentials.create(GATEWAY_KEY, GATEWAY_SECRET)))) {
      SageMakerRuntimeException e =
          smFailure(
              sm.invokeEndpoint(b -> b.endpointName("ep-a").body(SdkBytes.fromUtf8String("{}"))));
      assertEquals("AccessDeniedException", e.awsErrorDetails().errorCode());
    }
  }

  @Test
  void badSignatureWrongTokenAndExpiredSessionAreRefused() {
    emulator.endpoint("ep-a");
    Credentials c = assume(roleArn, EXTERNAL_ID, null);
    try (SageMakerRuntimeAsyncClient badSecret =
            sageMakerFor(
                StaticCredentialsProvider.create(
                    AwsSessionCredentials.create(
                        c.accessKeyId(), "wrong-secret", c.sessionToken())));
        SageMakerRuntimeAsyncClient badToken =
            sageMakerFor(
                StaticCredentialsProvider.create(
                    AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), "forged")));
        SageMakerRuntimeAsyncClient good = sageMakerFor(c)) {
      SageMakerRuntimeException sig =
          smFailure(
              badSecret.invokeEndpoint(
                  b -> b.endpointName("ep-a").body(SdkBytes.fromUtf8String("{}"))));
      assertEquals(403, sig.statusCode());
      assertEquals("InvalidSignatureException", sig.awsErrorDetails().errorCode());
      SageMakerRuntimeException token =
          smFailure(
              badToken.invokeEndpoint(
                  b -> b.endpointName("ep-a").body(SdkBytes.fromUtf8String("{}"))));
      assertEquals("UnrecognizedClientException", token.awsErrorDetails().errorCode());

      Bounds.join(
          good.invokeEndpoint(b -> b.endpointName("ep-a").body(SdkBytes.fromUtf8String("{}"))));
      emulator.expireSession(c.accessKeyId());
      SageMakerRuntimeException expired =
          smFailure(
              good.invokeEndpoint(b -> b.endpointName("ep-a").body(SdkBytes.fromUtf8String("{}"))));
      assertEquals("ExpiredTokenException", expired.awsErrorDetails().errorCode());
    }
  }

  @Test
  void unknownEndpointIsAValidationError() {
    Credentials c = assume(roleArn, EXTERNAL_ID, null);
    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c)) {
      Throwable e =
          failure(
              sm.invokeEndpoint(
                  b -> b.endpointName("no-such-endpoint").body(SdkBytes.fromUtf8String("{}"))));
      assertInstanceOf(ValidationErrorException.class, e);
      assertTrue(
          ((ValidationErrorException) e)
              .awsErrorDetails()
              .errorMessage()
              .contains("no-such-endpoint"));
    }
  }

  // ---- faults
  // -------------------------------------------------------------------------------------

  @Test
  void faultModesMapToTheSdkExceptions() {
    emulator.endpoint("model-error", Behaviour.MODEL_ERROR).modelError(422, "bad shape");
    emulator.endpoint("unavailable", Behaviour.SERVICE_UNAVAILABLE);
    emulator.endpoint("not-ready", Behaviour.MODEL_NOT_READY);
    emulator.endpoint("internal", Behaviour.INTERNAL_FAILURE);
    emulator.endpoint("garbage", Behaviour.GARBAGE);
    Credentials c = assume(roleArn, EXTERNAL_ID, null);
    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c)) {
      Throwable me = failure(invoke(sm, "model-error"));
      ModelErrorException modelError = assertInstanceOf(ModelErrorException.class, me);
      assertEquals(424, modelError.statusCode());
      assertEquals(422, modelError.originalStatusCode());
      assertEquals("bad shape", modelError.originalMessage());
      assertEquals(
          "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/" + "model-error",
          modelError.logStreamArn());
      assertTrue(modelError.awsErrorDetails().errorMessage().contains("(422)"));

      assertEquals(
          503,
          assertInstanceOf(ServiceUnavailableException.class, failure(invoke(sm, "unavailable")))
              .statusCode());
      assertEquals(
          429,
          assertInstanceOf(ModelNotReadyException.class, failure(invoke(sm, "not-ready")))
              .statusCode());
      assertEquals(
          500,
          assertInstanceOf(InternalFailureException.class, failure(invoke(sm, "internal")))
              .statusCode());

      // InvokeEndpoint's body is opaque to the SDK: junk arrives as a 200 with junk bytes.
      InvokeEndpointResponse junk = Bounds.join(invoke(sm, "garbage"));
      assertTrue(junk.body().asUtf8String().contains("not json"));
    }
    // No retries happened: exactly one request per call (plus the AssumeRole).
    assertEquals(5, emulator.requests(SageMakerEmulator.INVOKE).size());
  }

  @Test
  void heldStsAnswersAreRecordedAtOnceAndSentOnRelease() {
    io.vertx.core.Promise<Void> gate = emulator.holdStsAnswers();
    CompletableFuture<software.amazon.awssdk.services.sts.model.AssumeRoleResponse> call =
        sts.assumeRole(b -> b.roleArn(roleArn).roleSessionName("held").externalId(EXTERNAL_ID));
    RecordedRequest received = await(emulator.awaitRequest(0));
    assertEquals(SageMakerEmulator.ASSUME_ROLE, received.operation());
    // Recorded, but the answer waits for the gate: nothing can have completed the call yet.
    assertFalse(call.isDone());
    gate.complete();
    assertEquals("held", Bounds.join(call).assumedRoleUser().arn().replaceAll(".*/", ""));
  }

  @Test
  void hangNeverAnswers() {
    emulator.endpoint("hang", Behaviour.HANG);
    Credentials c = assume(roleArn, EXTERNAL_ID, null);
    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c, Duration.ofMillis(300))) {
      CompletableFuture<InvokeEndpointResponse> call = invoke(sm, "hang");
      RecordedRequest received = await(emulator.awaitRequest(1));
      assertEquals("hang", received.endpointName());
      assertEquals(0, received.status());
      // The SDK gives up on its own call timeout: the emulator never answered.
      assertInstanceOf(ApiCallTimeoutException.class, failure(call));
      // ...and dropped the connection, which the emulator reports.
      await(emulator.endpoint("hang").awaitEarlyCloses(1));
      assertEquals(1, emulator.endpoint("hang").earlyCloses());
    }
  }

  // ---- response stream and async
  // -----------------------------------------------------------------

  @Test
  void responseStreamPartsAreReleasedOneByOneAndEndWithModelStreamError() {
    emulator
        .endpoint("streamer")
        .manualRelease(true)
        .streamTextParts("{\"token\":\"a\"}", "{\"token\":\"b\"}", "{\"token\":\"c\"}")
        .endStreamWithModelError("model took too long", "ModelInvocationTimeExceeded");
    Credentials c = assume(roleArn, EXTERNAL_ID, onlyEndpointPolicy("streamer"));
    List<CompletableFuture<String>> parts =
        List.of(new CompletableFuture<>(), new CompletableFuture<>(), new CompletableFuture<>());
    List<String> received = Collections.synchronizedList(new ArrayList<>());
    CompletableFuture<InvokeEndpointWithResponseStreamResponse> headers = new CompletableFuture<>();
    CompletableFuture<Throwable> streamError = new CompletableFuture<>();
    InvokeEndpointWithResponseStreamResponseHandler handler =
        InvokeEndpointWithResponseStreamResponseHandler.builder()
            .onResponse(headers::complete)
            .onError(streamError::complete)
            .subscriber(
                InvokeEndpointWithResponseStreamResponseHandler.Visitor.builder()
                    .onPayloadPart(
                        p -> {
                          String text = p.bytes().asUtf8String();
                          parts.get(received.size()).complete(text);
                          received.add(text);
                        })
                    .build())
            .build();
    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c)) {
      CompletableFuture<Void> call =
          sm.invokeEndpointWithResponseStream(
              b ->
                  b.endpointName("streamer")
                      .contentType("application/json")
                      .customAttributes("c=1")
                      .body(SdkBytes.fromUtf8String("{\"inputs\":\"x\"}")),
              handler);

      InvokeEndpointWithResponseStreamResponse response = Bounds.join(headers);
      assertEquals("application/json", response.contentType());
      assertEquals("AllTraffic", response.invokedProductionVariant());
      assertEquals("c=1", response.customAttributes());
      assertTrue(received.isEmpty());

      await(emulator.endpoint("streamer").releaseNextPart());
      assertEquals("{\"token\":\"a\"}", Bounds.join(parts.get(0)));
      assertFalse(parts.get(1).isDone());
      await(emulator.endpoint("streamer").releaseNextPart());
      assertEquals("{\"token\":\"b\"}", Bounds.join(parts.get(1)));
      assertFalse(parts.get(2).isDone());
      await(emulator.endpoint("streamer").releaseNextPart());
      assertEquals("{\"token\":\"c\"}", Bounds.join(parts.get(2)));

      ModelStreamErrorException error =
          assertInstanceOf(ModelStreamErrorException.class, unwrap(Bounds.join(streamError)));
      assertEquals("ModelInvocationTimeExceeded", error.errorCode());
      assertInstanceOf(ModelStreamErrorException.class, failure(call));
    }
    assertEquals(3, received.size());
    assertTrue(emulator.endpoint("streamer").releaseNextPart().failed());
    RecordedRequest r = emulator.requests(SageMakerEmulator.INVOKE_STREAM).get(0);
    assertEquals(200, r.status());
    assertEquals("{\"inputs\":\"x\"}", r.bodyText());
  }

  @Test
  void responseStreamAutoReleaseEndsCleanly() {
    emulator.endpoint("auto-stream");
    Credentials c = assume(roleArn, EXTERNAL_ID, null);
    List<String> received = Collections.synchronizedList(new ArrayList<>());
    InvokeEndpointWithResponseStreamResponseHandler handler =
        InvokeEndpointWithResponseStreamResponseHandler.builder()
            .subscriber(
                InvokeEndpointWithResponseStreamResponseHandler.Visitor.builder()
                    .onPayloadPart(p -> received.add(p.bytes().asUtf8String()))
                    .build())
            .build();
    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c)) {
      Bounds.join(
          sm.invokeEndpointWithResponseStream(
              b -> b.endpointName("auto-stream").body(SdkBytes.fromUtf8String("{}")), handler));
    }
    assertEquals(List.of("{\"token\":\"Hello\"}\n", "{\"token\":\" world\"}\n"), received);
  }

  @Test
  void garbageOnTheResponseStreamFailsTheSdk() {
    emulator.endpoint("junk-stream", Behaviour.GARBAGE);
    Credentials c = assume(roleArn, EXTERNAL_ID, null);
    List<String> received = Collections.synchronizedList(new ArrayList<>());
    InvokeEndpointWithResponseStreamResponseHandler handler =
        InvokeEndpointWithResponseStreamResponseHandler.builder()
            .subscriber(
                InvokeEndpointWithResponseStreamResponseHandler.Visitor.builder()
                    .onPayloadPart(p -> received.add(p.bytes().asUtf8String()))
                    .build())
            .build();
    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c)) {
      Throwable t =
          failure(
              sm.invokeEndpointWithResponseStream(
                  b -> b.endpointName("junk-stream").body(SdkBytes.fromUtf8String("{}")), handler));
      // The SDK's own event-stream decoder rejects the junk: it is not frames.
      assertTrue(t.getMessage().contains("checksum"), t.toString());
    }
    assertTrue(received.isEmpty());
  }

  @Test
  void asyncInvocationIsAccepted() {
    emulator.endpoint("async-ep");
    Credentials c = assume(roleArn, EXTERNAL_ID, null);
    try (SageMakerRuntimeAsyncClient sm = sageMakerFor(c)) {
      InvokeEndpointAsyncResponse r =
          Bounds.join(
              sm.invokeEndpointAsync(
                  b ->
                      b.endpointName("async-ep")
                          .inputLocation("s3://in-bucket/req.json")
                          .inferenceId("inf-42")
                          .contentType("application/json")));
      assertEquals(202, r.sdkHttpResponse().statusCode());
      assertEquals("inf-42", r.inferenceId());
      assertTrue(
          r.outputLocation().startsWith("s3://") && r.outputLocation().contains("inf-42"),
          r.outputLocation());
      assertTrue(r.failureLocation().startsWith("s3://"), r.failureLocation());
    }
    RecordedRequest rec = emulator.requests(SageMakerEmulator.INVOKE_ASYNC).get(0);
    assertEquals(202, rec.status());
    assertEquals("s3://in-bucket/req.json", rec.header("X-Amzn-SageMaker-InputLocation"));
    assertNull(rec.errorType());
  }

  // ---- helpers
  // ------------------------------------------------------------------------------------

  private static String onlyEndpointPolicy(String endpoint) {
    return "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":"
        + "[\"sagemaker:InvokeEndpoint\"],\"Resource\":\"arn:aws:sagemaker:us-east-1:"
        + "123456789012:endpoint/"
        + endpoint
        + "\"}]}";
  }

  private static Credentials assume(String role, String externalId, String policy) {
    return Bounds.join(
            sts.assumeRole(
                b ->
                    b.roleArn(role)
                        .roleSessionName("sagegate-test")
                        .externalId(externalId)
                        .policy(policy)
                        .sourceIdentity("tester")))
        .credentials();
  }

  private static CompletableFuture<InvokeEndpointResponse> invoke(
      SageMakerRuntimeAsyncClient sm, String endpoint) {
    return sm.invokeEndpoint(
        b ->
            b.endpointName(endpoint)
                .contentType("application/json")
                .body(SdkBytes.fromUtf8String("{}")));
  }

  private static StsAsyncClient stsFor(String key, String secret) {
    return StsAsyncClient.builder()
        .endpointOverride(emulator.uri())
        .region(Region.US_EAST_1)
        .httpClient(http)
        .credentialsProvider(
            StaticCredentialsProvider.create(AwsBasicCredentials.create(key, secret)))
        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
        .build();
  }

  private static SageMakerRuntimeAsyncClient sageMakerFor(Credentials c) {
    return sageMakerFor(
        StaticCredentialsProvider.create(
            AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), c.sessionToken())));
  }

  private static SageMakerRuntimeAsyncClient sageMakerFor(Credentials c, Duration callTimeout) {
    return SageMakerRuntimeAsyncClient.builder()
        .endpointOverride(emulator.uri())
        .region(Region.US_EAST_1)
        .httpClient(http)
        .credentialsProvider(
            StaticCredentialsProvider.create(
                AwsSessionCredentials.create(
                    c.accessKeyId(), c.secretAccessKey(), c.sessionToken())))
        .overrideConfiguration(
            o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()).apiCallTimeout(callTimeout))
        .build();
  }

  private static SageMakerRuntimeAsyncClient sageMakerFor(StaticCredentialsProvider creds) {
    return SageMakerRuntimeAsyncClient.builder()
        .endpointOverride(emulator.uri())
        .region(Region.US_EAST_1)
        .httpClient(http)
        .credentialsProvider(creds)
        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
        .build();
  }

  private static <T> T await(Future<T> future) {
    return Bounds.join(future.toCompletionStage().toCompletableFuture());
  }

  private static Throwable failure(CompletableFuture<?> future) {
    try {
      Bounds.join(future);
    } catch (CompletionException e) {
      return unwrap(e);
    }
    throw new AssertionError("expected the call to fail, it succeeded");
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException
            || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static StsException stsFailure(CompletableFuture<?> future) {
    return assertInstanceOf(StsException.class, failure(future));
  }

  private static SageMakerRuntimeException smFailure(CompletableFuture<?> future) {
    return assertInstanceOf(SageMakerRuntimeException.class, failure(future));
  }
}
