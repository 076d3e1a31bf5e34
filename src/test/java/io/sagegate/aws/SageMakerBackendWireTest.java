package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.authz.Action;
import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.error.GatewayException;
import io.sagegate.eventstream.EventStreamFrame;
import io.sagegate.eventstream.EventStreamFrames;
import io.sagegate.eventstream.EventStreamParser;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.StderrCapture;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetServer;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.regions.Region;

/**
 * The sagemaker backend against a real HTTP server scripted per test, for the wire cases the
 * emulator does not script: a caller that goes away, junk or truncation in the middle of a stream,
 * retries that succeed, unparseable and infrastructure errors, refused connections.
 */
class SageMakerBackendWireTest {

  static Vertx vertx;
  static HttpServer server;
  static SageMakerBackendFactory factory;
  static volatile Handler<HttpServerRequest> script;
  static final AtomicInteger requests = new AtomicInteger();

  static final ScopedCredentials CREDS =
      new ScopedCredentials(
          AwsSessionCredentials.create(
              "ASIATESTTESTTEST0001", "test-secret-not-real", "test-token"),
          "arn:aws:iam::123456789012:role/r",
          "alice",
          "alice",
          Instant.now().plusSeconds(3600));

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    server =
        await(
            vertx
                .createHttpServer()
                .requestHandler(
                    req -> {
                      requests.incrementAndGet();
                      req.body().onSuccess(b -> script.handle(req));
                    })
                .listen(0, "127.0.0.1"));
    factory =
        new SageMakerBackendFactory(
            vertx, URI.create("http://127.0.0.1:" + server.actualPort()), Region.US_EAST_1);
  }

  @AfterAll
  static void stop() {
    if (factory != null) {
      factory.close();
    }
    if (vertx != null) {
      Bounds.join(vertx.close().toCompletionStage().toCompletableFuture());
    }
  }

  @BeforeEach
  void resetCount() {
    requests.set(0);
  }

  static <T> T await(Future<T> f) throws Exception {
    try {
      return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  static Backend backend(SageMakerBackendFactory f) {
    return f.create(
        new EndpointConfig(
            "wire-ep",
            Map.of(),
            new BackendConfig(
                "sagemaker",
                null,
                null,
                null,
                0,
                null,
                "arn:aws:iam::123456789012:role/r",
                List.of())));
  }

  static Invocation invocation(Action action) {
    return new Invocation(
        "req",
        new EndpointConfig(
            "wire-ep",
            Map.of(),
            new BackendConfig("sagemaker", null, null, null, 0, null, null, null)),
        action,
        null,
        InvocationHeaders.EMPTY,
        Buffer.buffer("{}"),
        CREDS);
  }

  static void error(HttpServerRequest req, int status, String type, String body) {
    req.response()
        .setStatusCode(status)
        .putHeader("x-amzn-ErrorType", type)
        .putHeader("Content-Type", "application/json")
        .end(body);
  }

  static Buffer frame(String text) {
    return EventStreamFrames.payloadPart(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void callerGoingAwayResetsTheUpstreamCall() throws Exception {
    CompletableFuture<Void> upstreamClosed = new CompletableFuture<>();
    script =
        req -> {
          req.connection().closeHandler(v -> upstreamClosed.complete(null));
          req.response()
              .setChunked(true)
              .setStatusCode(200)
              .putHeader("Content-Type", EventStreamFrames.CONTENT_TYPE)
              .write(frame("first"));
        };
    BackendResponse r = await(backend(factory).invokeStream(invocation(Action.INVOKE_STREAM)));
    CompletableFuture<EventStreamFrame> first = new CompletableFuture<>();
    EventStreamParser parser = new EventStreamParser(first::complete);
    r.stream().handler(parser::feed);
    r.stream().resume();
    assertEquals(
        "first", new String(first.get(30, TimeUnit.SECONDS).payload(), StandardCharsets.UTF_8));
    r.cancel().run();
    upstreamClosed.get(30, TimeUnit.SECONDS);
  }

  /**
   * An answer that is not HTTP is logged once, by the backend, naming the endpoint; Vert.x does not
   * log it again at ERROR without it (as it does for a connection with no exception handler).
   */
  @Test
  void garbageAnswerIsLoggedWithTheEndpointAndNotAgainByVertx() throws Exception {
    NetServer junk =
        await(
            vertx
                .createNetServer()
                .connectHandler(so -> so.handler(b -> so.write("this is not http at all\r\n\r\n")))
                .listen(0, "127.0.0.1"));
    SageMakerBackendFactory f =
        new SageMakerBackendFactory(
            vertx, URI.create("http://127.0.0.1:" + junk.actualPort()), Region.US_EAST_1);
    String log;
    try (StderrCapture err = StderrCapture.start()) {
      Exception e =
          assertThrows(Exception.class, () -> await(backend(f).invoke(invocation(Action.INVOKE))));
      assertEquals(502, ((GatewayException) e).status());
      log = err.text();
    } finally {
      f.close();
      await(junk.close());
    }
    assertTrue(log.contains("SageMaker Runtime call for endpoint wire-ep failed"), log);
    assertFalse(log.contains("ERROR io.vertx"), log);
  }

  /**
   * A caller that goes away while SageMaker has not answered yet (a slow model: up to the backend
   * timeout) abandons the upstream call at once, for the buffered and the stream operation alike,
   * and nothing is retried.
   */
  @Test
  void callerGoingAwayBeforeTheAnswerResetsTheUpstreamCall() throws Exception {
    for (Action action : new Action[] {Action.INVOKE, Action.INVOKE_STREAM}) {
      requests.set(0);
      CompletableFuture<Void> received = new CompletableFuture<>();
      CompletableFuture<Void> upstreamClosed = new CompletableFuture<>();
      script =
          req -> {
            req.connection().closeHandler(v -> upstreamClosed.complete(null));
            received.complete(null);
            // Never answers.
          };
      io.vertx.core.Promise<Void> gone = io.vertx.core.Promise.promise();
      Invocation base = invocation(action);
      Invocation inv =
          new Invocation(
              base.requestId(),
              base.endpoint(),
              action,
              null,
              base.headers(),
              base.body(),
              CREDS,
              null,
              gone.future());
      Backend b = backend(factory);
      Future<BackendResponse> call = action == Action.INVOKE ? b.invoke(inv) : b.invokeStream(inv);
      received.get(30, TimeUnit.SECONDS);
      vertx.runOnContext(v -> gone.tryComplete());
      upstreamClosed.get(30, TimeUnit.SECONDS);
      assertThrows(Exception.class, () -> await(call), action.toString());
      assertEquals(1, requests.get(), action + ": not retried");
    }
  }

  @Test
  void junkMidStreamEndsWithInternalStreamFailureAndNoHalfFrame() throws Exception {
    CompletableFuture<Void> upstreamClosed = new CompletableFuture<>();
    script =
        req -> {
          req.connection().closeHandler(v -> upstreamClosed.complete(null));
          Buffer second = frame("second");
          req.response()
              .setChunked(true)
              .setStatusCode(200)
              .putHeader("Content-Type", EventStreamFrames.CONTENT_TYPE);
          // One chunk: a whole frame, then the first bytes of the next; then junk.
          req.response().write(frame("first").appendBuffer(second.getBuffer(0, 5)));
          req.response().write(Buffer.buffer("<html>this is not an event stream</html>"));
        };
    List<EventStreamFrame> frames =
        SageMakerBackendEmulatorTest.readStream(
            await(backend(factory).invokeStream(invocation(Action.INVOKE_STREAM))));
    assertEquals(2, frames.size());
    assertEquals("first", new String(frames.get(0).payload(), StandardCharsets.UTF_8));
    assertEquals("InternalStreamFailure", frames.get(1).type());
    assertFalse(frames.get(1).payloadText().contains("html"));
    upstreamClosed.get(30, TimeUnit.SECONDS);
  }

  /** Valid frames arriving in the same chunk as the junk after them still reach the caller. */
  @Test
  void framesBeforeJunkInTheSameChunkAreRelayed() throws Exception {
    script =
        req -> {
          req.response()
              .setChunked(true)
              .setStatusCode(200)
              .putHeader("Content-Type", EventStreamFrames.CONTENT_TYPE);
          req.response()
              .write(
                  frame("first")
                      .appendBuffer(frame("second"))
                      .appendBuffer(Buffer.buffer("<html>this is not an event stream</html>")));
        };
    List<EventStreamFrame> frames =
        SageMakerBackendEmulatorTest.readStream(
            await(backend(factory).invokeStream(invocation(Action.INVOKE_STREAM))));
    assertEquals(3, frames.size(), frames.toString());
    assertEquals("first", new String(frames.get(0).payload(), StandardCharsets.UTF_8));
    assertEquals("second", new String(frames.get(1).payload(), StandardCharsets.UTF_8));
    assertEquals("InternalStreamFailure", frames.get(2).type());
  }

  @Test
  void streamCutInsideAFrameEndsWithInternalStreamFailure() throws Exception {
    script =
        req -> {
          Buffer second = frame("second");
          req.response()
              .setChunked(true)
              .setStatusCode(200)
              .putHeader("Content-Type", EventStreamFrames.CONTENT_TYPE);
          req.response().write(frame("first"));
          req.response().end(second.getBuffer(0, second.length() - 3));
        };
    BackendResponse r = await(backend(factory).invokeStream(invocation(Action.INVOKE_STREAM)));
    List<String> interruptions = new java.util.concurrent.CopyOnWriteArrayList<>();
    ((io.sagegate.backend.InterruptibleStream) r.stream()).interruptionHandler(interruptions::add);
    List<EventStreamFrame> frames = SageMakerBackendEmulatorTest.readStream(r);
    assertEquals(2, frames.size());
    assertTrue(frames.get(0).isPayloadPart());
    assertEquals("InternalStreamFailure", frames.get(1).type());
    // The stream ends normally after the exception event; the audit record learns of the cut here.
    assertEquals(List.of("backend:stream_interrupted"), interruptions);
  }

  @Test
  void oneServiceUnavailableIsRetriedAndSucceeds() throws Exception {
    script =
        req -> {
          if (requests.get() == 1) {
            error(req, 503, "ServiceUnavailable", "{\"message\":\"busy\"}");
          } else {
            req.response()
                .putHeader("Content-Type", "text/plain")
                .putHeader("x-amzn-RequestId", "rid-2")
                .end("ok");
          }
        };
    BackendResponse r = await(backend(factory).invoke(invocation(Action.INVOKE)));
    assertEquals("ok", r.body().toString());
    assertEquals("rid-2", r.upstreamRequestId());
    assertEquals(2, requests.get());
  }

  @Test
  void internalDependencyIs530AfterTwoRetriesWithoutUpstreamText() throws Exception {
    script =
        req ->
            error(
                req,
                530,
                "InternalDependencyException:http://internal.amazon.com/coral/",
                "{\"message\":\"dependency at ip-10-1-2-3 failed\"}");
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () -> await(backend(factory).invoke(invocation(Action.INVOKE))));
    assertEquals(530, e.status());
    assertEquals("InternalDependencyException", e.errorType());
    assertFalse(e.getMessage().contains("ip-10"));
    assertEquals(3, requests.get());
  }

  @Test
  void validationErrorKeepsItsTypeWithoutUpstreamText() throws Exception {
    // SageMaker's own wording for a missing endpoint names the account.
    script =
        req ->
            error(
                req,
                400,
                "ValidationError",
                "{\"message\":\"Endpoint wire-ep of account 123456789012 not found.\"}");
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () -> await(backend(factory).invoke(invocation(Action.INVOKE))));
    assertEquals(400, e.status());
    assertEquals("ValidationError", e.errorType());
    assertEquals("sagemaker:ValidationError", e.auditReason());
    assertFalse(e.getMessage().contains("123456789012"), e.getMessage());
    assertTrue(e.getMessage().contains("wire-ep"), e.getMessage());
    assertEquals(1, requests.get());
  }

  @Test
  void unparseableAnswerIs502AndNotRetried() throws Exception {
    script =
        req ->
            req.response()
                .setStatusCode(502)
                .putHeader("Content-Type", "text/html")
                .end("<html>proxy error</html>");
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () -> await(backend(factory).invoke(invocation(Action.INVOKE))));
    assertEquals(502, e.status());
    assertEquals("BadGatewayException", e.errorType());
    assertFalse(e.getMessage().contains("proxy error"));
    assertEquals(1, requests.get());
  }

  @Test
  void unknownErrorTypeIs502() throws Exception {
    script =
        req ->
            error(
                req,
                403,
                "InvalidSignatureException",
                "{\"message\":\"The request signature we calculated does not match\"}");
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () -> await(backend(factory).invoke(invocation(Action.INVOKE))));
    assertEquals(502, e.status());
    assertEquals("sagemaker:InvalidSignatureException", e.auditReason());
  }

  @Test
  void asyncAnswerWithoutInferenceIdIs502() throws Exception {
    script = req -> req.response().setStatusCode(202).end("not json");
    EndpointConfig ep =
        new EndpointConfig(
            "wire-ep",
            Map.of(),
            new BackendConfig(
                "sagemaker", null, null, null, 0, null, null, List.of("s3://bkt/in/")));
    InvocationHeaders h =
        InvocationHeaders.from(
            io.vertx.core.MultiMap.caseInsensitiveMultiMap()
                .add("X-Amzn-SageMaker-InputLocation", "s3://bkt/in/x"),
            Action.INVOKE_ASYNC);
    Invocation inv =
        new Invocation("req", ep, Action.INVOKE_ASYNC, null, h, Buffer.buffer(), CREDS);
    GatewayException e =
        assertThrows(GatewayException.class, () -> await(factory.create(ep).invokeAsync(inv)));
    assertEquals(502, e.status());
  }

  /**
   * InvokeEndpointAsync names its content type and accept headers X-Amzn-SageMaker-Content-Type and
   * X-Amzn-SageMaker-Accept (botocore's model), and takes S3OutputPathExtension and Filename: a
   * boto3 caller's async headers reach SageMaker as it sent them.
   */
  @Test
  void asyncHeadersAsBotocoreNamesThemAreRelayed() throws Exception {
    CompletableFuture<io.vertx.core.MultiMap> seen = new CompletableFuture<>();
    script =
        req -> {
          seen.complete(io.vertx.core.MultiMap.caseInsensitiveMultiMap().addAll(req.headers()));
          req.response()
              .setStatusCode(202)
              .putHeader("X-Amzn-SageMaker-OutputLocation", "s3://bkt/out/1.out")
              .putHeader("Content-Type", "application/json")
              .end("{\"InferenceId\":\"inf-1\"}");
        };
    EndpointConfig ep =
        new EndpointConfig(
            "wire-ep",
            Map.of(),
            new BackendConfig(
                "sagemaker", null, null, null, 0, null, null, List.of("s3://bkt/in/")));
    InvocationHeaders h =
        InvocationHeaders.from(
            io.vertx.core.MultiMap.caseInsensitiveMultiMap()
                .add("X-Amzn-SageMaker-InputLocation", "s3://bkt/in/x")
                .add("X-Amzn-SageMaker-Content-Type", "text/csv")
                .add("X-Amzn-SageMaker-Accept", "application/json")
                .add("X-Amzn-SageMaker-S3OutputPathExtension", "team-a/run1")
                .add("X-Amzn-SageMaker-Filename", "result.json"),
            Action.INVOKE_ASYNC);
    Invocation inv =
        new Invocation("req", ep, Action.INVOKE_ASYNC, null, h, Buffer.buffer(), CREDS);
    BackendResponse r = await(factory.create(ep).invokeAsync(inv));
    assertEquals(202, r.status());
    io.vertx.core.MultiMap sent = seen.get(30, TimeUnit.SECONDS);
    assertEquals("text/csv", sent.get("X-Amzn-SageMaker-Content-Type"));
    assertEquals("application/json", sent.get("X-Amzn-SageMaker-Accept"));
    assertEquals("team-a/run1", sent.get("X-Amzn-SageMaker-S3OutputPathExtension"));
    assertEquals("result.json", sent.get("X-Amzn-SageMaker-Filename"));
  }

  @Test
  void refusedConnectionIs502AfterRetries() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    SageMakerBackendFactory closed =
        new SageMakerBackendFactory(
            vertx, URI.create("http://127.0.0.1:" + closedPort), Region.US_EAST_1);
    try {
      GatewayException e =
          assertThrows(
              GatewayException.class,
              () -> await(backend(closed).invoke(invocation(Action.INVOKE))));
      assertEquals(502, e.status());
      assertEquals("sagemaker:connect_failed", e.auditReason());
    } finally {
      closed.close();
    }
  }

  @Test
  void missingCredentialsAreAnInternalError() throws Exception {
    Invocation inv =
        new Invocation(
            "req",
            invocation(Action.INVOKE).endpoint(),
            Action.INVOKE,
            null,
            InvocationHeaders.EMPTY,
            Buffer.buffer(),
            ScopedCredentials.NONE);
    GatewayException e =
        assertThrows(GatewayException.class, () -> await(backend(factory).invoke(inv)));
    assertEquals(500, e.status());
    assertEquals(0, requests.get());
  }

  @Test
  void factoryRefusesOtherBackendTypes() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                factory.create(
                    new EndpointConfig(
                        "c",
                        Map.of(),
                        new BackendConfig(
                            "container", "http://x", null, null, 0, null, null, null))));
    assertTrue(e.getMessage().contains("backend.type"), e.getMessage());
  }

  /**
   * A buffered answer arriving in several chunks is the chunks in order; one in a single chunk is
   * that chunk (the backend keeps the first chunk and appends only from the second on).
   */
  @Test
  void bufferedAnswerInSeveralChunksIsReassembledInOrder() throws Exception {
    script =
        req -> {
          var resp =
              req.response()
                  .setChunked(true)
                  .setStatusCode(200)
                  .putHeader("Content-Type", "text/plain");
          resp.write("alpha-");
          vertx.setTimer(
              20,
              t1 -> {
                resp.write("beta-");
                vertx.setTimer(20, t2 -> resp.end("gamma"));
              });
        };
    BackendResponse r = await(backend(factory).invoke(invocation(Action.INVOKE)));
    assertEquals("alpha-beta-gamma", r.body().toString());

    script =
        req ->
            req.response().setStatusCode(200).putHeader("Content-Type", "text/plain").end("single");
    assertEquals(
        "single", await(backend(factory).invoke(invocation(Action.INVOKE))).body().toString());

    script = req -> req.response().setStatusCode(200).putHeader("Content-Type", "text/plain").end();
    assertEquals(0, await(backend(factory).invoke(invocation(Action.INVOKE))).body().length());
  }
}
