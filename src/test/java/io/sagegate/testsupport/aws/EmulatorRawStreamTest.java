package io.sagegate.testsupport.aws;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.eventstream.EventStreamFrame;
import io.sagegate.eventstream.EventStreamParser;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsSessionCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsAsyncClient;
import software.amazon.awssdk.services.sts.model.Credentials;

/**
 * The emulator driven the way a Vert.x gateway drives SageMaker: a Vert.x HttpClient request signed
 * with the SDK's {@code AwsV4HttpSigner}, its response stream decoded by our own {@link
 * EventStreamParser}, and a client that cuts a stream off.
 */
class EmulatorRawStreamTest {

  private static final String KEY = "AKIARAWSTREAMTEST001";
  private static final String SECRET = "raw-stream-test-secret-known-only-to-the-emulator";
  private static final byte[] BODY = "{\"inputs\":\"go\"}".getBytes(StandardCharsets.UTF_8);

  private static Vertx vertx;
  private static SageMakerEmulator emulator;
  private static HttpClient client;
  private static Credentials session;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    emulator = join(SageMakerEmulator.start(vertx));
    emulator
        .addCredentials(KEY, SECRET)
        .addRole(
            Role.allowing(
                emulator.roleArn("raw"),
                KEY,
                null,
                List.of("sagemaker:InvokeEndpoint"),
                List.of("*")));
    try (StsAsyncClient sts =
        StsAsyncClient.builder()
            .endpointOverride(emulator.uri())
            .region(Region.US_EAST_1)
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET)))
            .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()))
            .build()) {
      session =
          Bounds.join(
                  sts.assumeRole(b -> b.roleArn(emulator.roleArn("raw")).roleSessionName("raw")))
              .credentials();
    }
    client = vertx.createHttpClient();
  }

  @AfterAll
  static void stop() {
    join(client.close());
    join(emulator.stop());
    join(vertx.close());
  }

  @BeforeEach
  void reset() {
    emulator.reset();
  }

  @Test
  void vertxClientWithSdkSignerReadsFramesWithOurParser() {
    emulator
        .endpoint("raw-stream")
        .streamTextParts("alpha", "beta")
        .endStreamWithModelError("stopped", "StreamBroken");
    // The body handler must be set on the event loop as the response arrives (send's onHead).
    Promise<HttpClientResponse> head = Promise.promise();
    Buffer body =
        join(
            send(
                "raw-stream",
                "/invocations-response-stream",
                true,
                r -> {
                  head.complete(r);
                  return r.body();
                }));
    HttpClientResponse response = join(head.future());
    assertEquals(200, response.statusCode());
    assertEquals("application/vnd.amazon.eventstream", response.getHeader("Content-Type"));
    assertEquals("application/json", response.getHeader("X-Amzn-SageMaker-Content-Type"));
    assertEquals("AllTraffic", response.getHeader("X-Amzn-Invoked-Production-Variant"));

    List<EventStreamFrame> frames = new ArrayList<>();
    EventStreamParser parser = new EventStreamParser(frames::add);
    parser.feed(body);
    parser.end();
    assertEquals(3, frames.size());
    assertEquals("alpha", frames.get(0).payloadText());
    assertEquals("beta", frames.get(1).payloadText());
    assertTrue(frames.get(2).isException());
    assertEquals("ModelStreamError", frames.get(2).type());
    assertTrue(frames.get(2).payloadText().contains("StreamBroken"));
    assertEquals(0, emulator.endpoint("raw-stream").earlyCloses());
  }

  @Test
  void aClientThatCutsTheStreamOffIsReported() {
    SageMakerEmulator.Endpoint ep =
        emulator.endpoint("cut-stream").manualRelease(true).streamTextParts("one", "two", "three");
    // Paused as it arrives (on the event loop), so nothing is lost before the handler is set.
    HttpClientResponse response =
        join(
            send(
                "cut-stream",
                "/invocations-response-stream",
                true,
                r -> {
                  r.pause();
                  return Future.succeededFuture(r);
                }));
    assertEquals(200, response.statusCode());
    Promise<Buffer> first = Promise.promise();
    response.handler(first::tryComplete);
    response.resume();
    join(ep.releaseNextPart());
    Buffer chunk = join(first.future());
    List<EventStreamFrame> frames = new ArrayList<>();
    new EventStreamParser(frames::add).feed(chunk);
    assertEquals("one", frames.get(0).payloadText());

    join(response.request().connection().close());
    join(ep.awaitEarlyCloses(1));
    assertEquals(1, ep.earlyCloses());
    assertFalse(ep.releaseNextPart().isComplete(), "no stream is left to write the part");
  }

  @Test
  void anUnsignedBodyIsRefusedUnlessAllowed() {
    emulator.endpoint("raw-ok");
    String[] errorType = new String[1];
    String refused =
        join(send(
                "raw-ok",
                "/invocations",
                false,
                r -> {
                  assertEquals(403, r.statusCode());
                  errorType[0] = r.getHeader("x-amzn-ErrorType");
                  return r.body();
                }))
            .toString();
    assertEquals("InvalidSignatureException", errorType[0]);
    assertTrue(refused.contains("UNSIGNED-PAYLOAD"), refused);
    emulator.allowUnsignedPayload(true);
    try {
      int[] status = new int[1];
      String ok =
          join(send(
                  "raw-ok",
                  "/invocations",
                  false,
                  r -> {
                    status[0] = r.statusCode();
                    return r.body();
                  }))
              .toString();
      assertEquals(200, status[0]);
      assertTrue(ok.contains("raw-ok"), ok);
    } finally {
      emulator.allowUnsignedPayload(false);
    }
  }

  /**
   * Sends a signed request and hands the response to {@code onHead} on the event loop, as it
   * arrives: set from the test thread, a body handler could come after a short answer had ended.
   */
  private static <T> Future<T> send(
      String endpoint,
      String suffix,
      boolean signPayload,
      Function<HttpClientResponse, Future<T>> onHead) {
    URI base = emulator.uri();
    // The SDK signer always signs the body over plain HTTP; to get UNSIGNED-PAYLOAD we sign as if
    // for https (same Host) and send over http.
    URI signingUri = signPayload ? base : URI.create("https://" + base.getAuthority());
    SdkHttpRequest unsigned =
        SdkHttpRequest.builder()
            .method(SdkHttpMethod.POST)
            .uri(signingUri)
            .encodedPath("/endpoints/" + endpoint + suffix)
            .putHeader("Content-Type", "application/json")
            .build();
    SdkHttpRequest signed =
        AwsV4HttpSigner.create()
            .sign(
                r ->
                    r.identity(
                            AwsSessionCredentialsIdentity.create(
                                session.accessKeyId(),
                                session.secretAccessKey(),
                                session.sessionToken()))
                        .request(unsigned)
                        .payload(ContentStreamProvider.fromByteArray(BODY))
                        .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, signPayload)
                        .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1")
                        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "sagemaker"))
            .request();
    RequestOptions options =
        new RequestOptions()
            .setMethod(HttpMethod.POST)
            .setHost(base.getHost())
            .setPort(base.getPort())
            .setURI(signed.encodedPath());
    signed.headers().forEach((name, values) -> values.forEach(v -> options.addHeader(name, v)));
    Promise<T> result = Promise.promise();
    vertx.runOnContext(
        v ->
            client
                .request(options)
                .compose(req -> req.send(Buffer.buffer(BODY)))
                .compose(onHead)
                .onComplete(result));
    return result.future();
  }

  /**
   * Bounded: a lost answer fails the test instead of hanging the build (join ignores interrupts).
   */
  private static <T> T join(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(AWAIT_SECONDS, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof Error err) {
        throw err; // an assertion that failed on the event loop
      }
      throw e.getCause() instanceof RuntimeException re
          ? re
          : new IllegalStateException(e.getCause());
    } catch (InterruptedException | TimeoutException e) {
      throw new IllegalStateException("no answer within " + AWAIT_SECONDS + " s", e);
    }
  }
}
