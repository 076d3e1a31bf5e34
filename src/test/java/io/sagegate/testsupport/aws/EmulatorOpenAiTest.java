package io.sagegate.testsupport.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.authz.Action;
import io.sagegate.aws.BearerTokens;
import io.sagegate.aws.SessionPolicy;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.aws.SageMakerEmulator.Behaviour;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsAsyncClient;
import software.amazon.awssdk.services.sts.model.Credentials;

/**
 * The emulator's OpenAI-compatible path: bearer tokens checked against the sessions its STS issued,
 * the session policy applied to CallWithBearerToken and to InvokeEndpoint on the endpoint in the
 * path, SigV4 and the component header refused, both error shapes.
 */
class EmulatorOpenAiTest {

  // Test-only credentials the emulator itself defines; not AWS secrets.
  private static final String GATEWAY_KEY = "AKIAGATEWAYEMULATOR1";
  private static final String GATEWAY_SECRET = "gateway-test-secret-known-only-to-the-emulator";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();
  private static final String CHAT =
      "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

  private static Vertx vertx;
  private static SageMakerEmulator emulator;
  private static SdkAsyncHttpClient http;
  private static StsAsyncClient sts;
  private static String roleArn;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    emulator =
        Bounds.join(SageMakerEmulator.start(vertx).toCompletionStage().toCompletableFuture());
    roleArn = emulator.roleArn("sagegate-invoke");
    emulator
        .addCredentials(GATEWAY_KEY, GATEWAY_SECRET)
        .addRole(
            Role.allowing(
                roleArn,
                GATEWAY_KEY,
                null,
                List.of("sagemaker:InvokeEndpoint*", "sagemaker:CallWithBearerToken"),
                List.of("*")));
    http = NettyNioAsyncHttpClient.builder().build();
    sts =
        StsAsyncClient.builder()
            .endpointOverride(emulator.uri())
            .region(Region.US_EAST_1)
            .httpClient(http)
            .credentialsProvider(
                StaticCredentialsProvider.create(
                    AwsBasicCredentials.create(GATEWAY_KEY, GATEWAY_SECRET)))
            .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
            .build();
  }

  @AfterAll
  static void stop() {
    sts.close();
    http.close();
    Bounds.join(emulator.stop().toCompletionStage().toCompletableFuture());
    Bounds.join(vertx.close().toCompletionStage().toCompletableFuture());
  }

  @BeforeEach
  void reset() {
    emulator.reset();
    emulator.openAiErrorEnvelope(true);
  }

  private static Credentials session(String policy) {
    return Bounds.join(
            sts.assumeRole(b -> b.roleArn(roleArn).roleSessionName("sagegate-test").policy(policy)))
        .credentials();
  }

  /** The gateway's own session policy for an endpoint on the OpenAI path. */
  private static String policyFor(String endpoint, boolean bearer) {
    return SessionPolicy.of(emulator.endpointArn(endpoint), Action.INVOKE, bearer);
  }

  private static String token(Credentials c, Clock clock, Duration expiry) {
    return BearerTokens.mint(
        AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), c.sessionToken()),
        Region.US_EAST_1,
        expiry,
        clock);
  }

  private static String token(Credentials c) {
    return token(c, Clock.systemUTC(), Duration.ofMinutes(10));
  }

  private static HttpResponse<String> chat(
      String endpoint, String authorization, String body, String... headers) {
    HttpRequest.Builder b =
        HttpRequest.newBuilder(
                URI.create(
                    emulator.uri() + "/endpoints/" + endpoint + "/openai/v1/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .header("Content-Type", "application/json");
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    for (int i = 0; i < headers.length; i += 2) {
      b.header(headers[i], headers[i + 1]);
    }
    try {
      return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static JsonNode error(HttpResponse<String> r, int status) throws Exception {
    assertEquals(status, r.statusCode(), r.body());
    JsonNode e = JSON.readTree(r.body()).path("error");
    assertTrue(e.path("message").isTextual(), r.body());
    return e;
  }

  @Test
  void aValidTokenForTheEndpointIsAnswered() throws Exception {
    emulator.endpoint("ep-a");
    HttpResponse<String> r =
        chat("ep-a", "Bearer " + token(session(policyFor("ep-a", true))), CHAT);
    assertEquals(200, r.statusCode(), r.body());
    JsonNode body = JSON.readTree(r.body());
    assertEquals("m", body.path("model").asText());
    assertEquals(7, body.path("usage").path("prompt_tokens").asInt());
    assertEquals(
        SageMakerEmulator.OPENAI_CHAT,
        emulator.requests().get(emulator.requests().size() - 1).operation());
  }

  @Test
  void aTokenMintedForEndpointAIsRefusedOnEndpointB() throws Exception {
    emulator.endpoint("ep-a");
    emulator.endpoint("ep-b");
    String token = token(session(policyFor("ep-a", true)));
    assertEquals(200, chat("ep-a", "Bearer " + token, CHAT).statusCode());
    JsonNode e = error(chat("ep-b", "Bearer " + token, CHAT), 403);
    assertTrue(e.path("message").asText().contains("sagemaker:InvokeEndpoint"), e.toString());
  }

  @Test
  void aSessionWithoutCallWithBearerTokenIsRefused() throws Exception {
    emulator.endpoint("ep-a");
    JsonNode e =
        error(chat("ep-a", "Bearer " + token(session(policyFor("ep-a", false))), CHAT), 403);
    assertTrue(e.path("message").asText().contains("sagemaker:CallWithBearerToken"), e.toString());
  }

  @Test
  void expiredTamperedForeignAndMissingTokensAreRefused() throws Exception {
    emulator.endpoint("ep-a");
    Credentials c = session(policyFor("ep-a", true));
    Clock past = Clock.fixed(Instant.now().minus(Duration.ofMinutes(5)), ZoneOffset.UTC);
    assertTrue(
        error(chat("ep-a", "Bearer " + token(c, past, Duration.ofSeconds(60)), CHAT), 401)
            .path("message")
            .asText()
            .contains("expired"));
    String url =
        new String(
            Base64.getDecoder().decode(token(c).substring(BearerTokens.PREFIX.length())),
            StandardCharsets.UTF_8);
    String tampered =
        BearerTokens.PREFIX
            + Base64.getEncoder()
                .encodeToString(
                    url.replace("X-Amz-Expires=600", "X-Amz-Expires=601")
                        .getBytes(StandardCharsets.UTF_8));
    assertTrue(
        error(chat("ep-a", "Bearer " + tampered, CHAT), 401)
            .path("message")
            .asText()
            .contains("signature"));
    String foreign =
        BearerTokens.mint(
            AwsSessionCredentials.create("ASIANOBODY", "x", "y"),
            Region.US_EAST_1,
            Duration.ofMinutes(5),
            Clock.systemUTC());
    error(chat("ep-a", "Bearer " + foreign, CHAT), 401);
    String otherRegion =
        BearerTokens.mint(
            AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), c.sessionToken()),
            Region.EU_WEST_1,
            Duration.ofMinutes(5),
            Clock.systemUTC());
    error(chat("ep-a", "Bearer " + otherRegion, CHAT), 403);
    error(chat("ep-a", null, CHAT), 401);
    error(chat("ep-a", "Bearer some-jwt", CHAT), 401);
  }

  @Test
  void sigV4AndTheComponentHeaderAreRefusedOnThisPath() throws Exception {
    emulator.endpoint("ep-a");
    error(
        chat(
            "ep-a",
            "AWS4-HMAC-SHA256 Credential=AKIA/20260520/us-east-1/sagemaker/aws4_request, "
                + "SignedHeaders=host, Signature=00",
            CHAT),
        403);
    error(
        chat(
            "ep-a",
            "Bearer " + token(session(policyFor("ep-a", true))),
            CHAT,
            "X-Amzn-SageMaker-Inference-Component",
            "ic-1"),
        400);
  }

  @Test
  void streamsEndWithDoneAndCarryUsageWhenAsked() throws Exception {
    emulator.endpoint("ep-a");
    String token = "Bearer " + token(session(policyFor("ep-a", true)));
    HttpResponse<String> plain = chat("ep-a", token, CHAT.replace("{", "{\"stream\":true,"));
    assertEquals(200, plain.statusCode());
    assertTrue(plain.body().endsWith("data: [DONE]\n\n"), plain.body());
    assertFalse(plain.body().contains("usage"));
    HttpResponse<String> usage =
        chat(
            "ep-a",
            token,
            CHAT.replace("{", "{\"stream\":true,\"stream_options\":{\"include_usage\":true},"));
    assertTrue(usage.body().contains("\"usage\""), usage.body());
  }

  @Test
  void streamedEventsArePacedByTheEndpointsGap() throws Exception {
    emulator.endpoint("ep-a").eventGap(Duration.ofMillis(60));
    String token = "Bearer " + token(session(policyFor("ep-a", true)));
    long start = System.nanoTime();
    HttpResponse<String> paced = chat("ep-a", token, CHAT.replace("{", "{\"stream\":true,"));
    long tookMillis = Duration.ofNanos(System.nanoTime() - start).toMillis();
    assertEquals(200, paced.statusCode());
    // Five events (three words, the finish, [DONE]) with a 60 ms timer between each: a timer
    // never fires early, so the answer cannot end sooner than four gaps.
    assertTrue(tookMillis >= 240, "the stream took " + tookMillis + " ms");
    assertThrows(
        IllegalArgumentException.class, () -> emulator.endpoint("ep-a").eventGap(Duration.ZERO));
  }

  @Test
  void errorsComeInEitherShape() throws Exception {
    emulator.endpoint("ep-a", Behaviour.MODEL_ERROR).modelError(400, "bad max_tokens");
    String token = "Bearer " + token(session(policyFor("ep-a", true)));
    JsonNode e = error(chat("ep-a", token, CHAT), 400);
    assertTrue(
        e.path("message").asText().contains(emulator.accountId()),
        "quotes the account, as reported");
    assertTrue(e.path("message").asText().contains("console.aws.amazon.com"));
    emulator.openAiErrorEnvelope(false);
    HttpResponse<String> shaped = chat("ep-a", token, CHAT);
    assertEquals("ModelError", shaped.headers().firstValue("x-amzn-ErrorType").orElse(null));
    assertTrue(JSON.readTree(shaped.body()).path("message").asText().contains("bad max_tokens"));
    emulator.endpoint("ep-a", Behaviour.NO_CAPACITY);
    emulator.openAiErrorEnvelope(true);
    assertTrue(
        error(chat("ep-a", token, CHAT), 400).path("message").asText().contains("no capacity"));
  }

  @Test
  void aTricklingAnswerKeepsSendingAndNeverEnds() throws Exception {
    emulator.endpoint("ep-a", Behaviour.TRICKLE);
    String token = "Bearer " + token(session(policyFor("ep-a", true)));
    HttpRequest request =
        HttpRequest.newBuilder(
                URI.create(emulator.uri() + "/endpoints/ep-a/openai/v1/chat/completions"))
            .POST(HttpRequest.BodyPublishers.ofString(CHAT))
            .header("Authorization", token)
            .build();
    HttpResponse<java.io.InputStream> r =
        HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
    assertEquals(200, r.statusCode());
    try (java.io.InputStream in = r.body()) {
      // The head, then a byte about every 100 ms: five of them come, and the body has not ended.
      for (int i = 0; i < 5; i++) {
        assertTrue(in.read() >= 0, "the body goes on");
      }
    }
  }
}
