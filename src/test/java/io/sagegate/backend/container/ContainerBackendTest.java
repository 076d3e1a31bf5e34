package io.sagegate.backend.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.eventstream.EventStreamFrame;
import io.sagegate.eventstream.EventStreamFrames;
import io.sagegate.eventstream.EventStreamParser;
import io.sagegate.testsupport.ContainerStub;
import io.sagegate.testsupport.ContainerStub.Mode;
import io.sagegate.testsupport.ContainerStub.Received;
import io.sagegate.testsupport.StderrCapture;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class ContainerBackendTest {

  private static final String ENDPOINT = "fraud-scorer";
  private static final long SHORT_TIMEOUT_MS = 500;

  private Vertx vertx;
  private ContainerStub stub;
  private ContainerBackend backend;

  @BeforeEach
  void startStub(Vertx vertx, VertxTestContext t) {
    this.vertx = vertx;
    ContainerStub.start(vertx)
        .onComplete(
            t.succeeding(
                s -> {
                  stub = s;
                  t.completeNow();
                }));
  }

  @AfterEach
  void stop(VertxTestContext t) {
    Future<Void> closing = backend == null ? Future.succeededFuture() : backend.close();
    closing.eventually(() -> stub.close()).onComplete(t.succeedingThenComplete());
  }

  static EndpointConfig endpoint(String url, long timeoutMs) {
    return new EndpointConfig(
        ENDPOINT,
        Map.of("env", "test"),
        new BackendConfig(
            BackendConfig.CONTAINER,
            url,
            Duration.ofMillis(1000),
            Duration.ofMillis(timeoutMs),
            4,
            "variant-a",
            null,
            null));
  }

  static Invocation invocation(
      EndpointConfig endpoint, Action action, InvocationHeaders headers, String body) {
    Caller caller = new Caller("alice", "sagegate-dev", "jti-1", null, null, null, null, null);
    return new Invocation(
        "req-1", endpoint, action, caller, headers, Buffer.buffer(body), ScopedCredentials.NONE);
  }

  static InvocationHeaders json() {
    return new InvocationHeaders(
        "application/json",
        "application/json",
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        null);
  }

  /** Puts the stub in {@code mode}, then builds the backend against it. */
  private Future<ContainerBackend> backendIn(Mode mode, long timeoutMs) {
    return stub.mode(mode)
        .map(
            v -> {
              backend =
                  new ContainerBackend(
                      vertx, endpoint(stub.url().toString(), timeoutMs), stub.url());
              return backend;
            });
  }

  private Invocation call(Action action, String body) {
    return invocation(endpoint(stub.url().toString(), SHORT_TIMEOUT_MS), action, json(), body);
  }

  /** Expects {@code f} to fail with the given status and type, and then runs {@code more}. */
  private static void expectFailure(
      Future<?> f, VertxTestContext t, int status, String type, Consumer<GatewayException> more) {
    f.onComplete(
        t.failing(
            err ->
                t.verify(
                    () -> {
                      assertTrue(err instanceof GatewayException, "not a GatewayException: " + err);
                      GatewayException e = (GatewayException) err;
                      assertEquals(status, e.status(), e.getMessage());
                      assertEquals(type, e.errorType());
                      more.accept(e);
                      t.completeNow();
                    })));
  }

  /**
   * The call's failure, for a test that expects one; a call that was answered fails with {@code
   * ifAnswered} instead.
   */
  private static Future<GatewayException> failureOf(AsyncResult<?> call, String ifAnswered) {
    return call.succeeded()
        ? Future.failedFuture(new AssertionError(ifAnswered))
        : Future.succeededFuture((GatewayException) call.cause());
  }

  /** The caller's message names the endpoint and carries none of the upstream exception text. */
  private void assertNoUpstreamText(GatewayException e) {
    String m = e.getMessage();
    assertTrue(m.contains(ENDPOINT), m);
    for (String leak :
        List.of(
            "Exception",
            "refused",
            "Connection",
            "127.0.0.1",
            ":" + stub.port(),
            "timeout of",
            "invalid version",
            "this is not http")) {
      assertFalse(m.contains(leak), "caller message leaks '" + leak + "': " + m);
    }
  }

  /**
   * A docker-compose service name with an underscore ({@code model_server}), which {@link
   * java.net.URI} reads without a host: the backend still calls it. The name resolves through this
   * test's own hosts entry (Vert.x's resolver), not through DNS or /etc/hosts.
   */
  @Test
  void aHostNameWithAnUnderscoreIsCalled(VertxTestContext t) {
    Vertx compose =
        Vertx.vertx(
            new io.vertx.core.VertxOptions()
                .setAddressResolverOptions(
                    new io.vertx.core.dns.AddressResolverOptions()
                        .setHostsValue(Buffer.buffer("127.0.0.1 model_server\n"))));
    String url = "http://model_server:" + stub.port();
    ContainerBackend viaName =
        new ContainerBackend(compose, endpoint(url, 2000), java.net.URI.create(url));
    viaName
        .invoke(invocation(endpoint(url, 2000), Action.INVOKE, json(), "{\"text\":\"hi\"}"))
        .eventually(() -> viaName.close().eventually(compose::close))
        .onComplete(
            t.succeeding(
                resp ->
                    t.verify(
                        () -> {
                          assertEquals(200, resp.status());
                          assertEquals(
                              "{\"text\":\"hi\"}", resp.body().toJsonObject().getString("echo"));
                          t.completeNow();
                        })));
  }

  @Test
  void okForwardsTheContractHeadersAndMapsTheAnswer(VertxTestContext t) {
    InvocationHeaders headers =
        new InvocationHeaders(
            "application/json",
            "application/json",
            "trace=abc",
            "model-b.tar.gz",
            "variant-x",
            null,
            "inf-1",
            "`true`",
            null,
            "NEW_SESSION",
            null,
            null,
            null);
    Invocation inv =
        invocation(
            endpoint(stub.url().toString(), 2000), Action.INVOKE, headers, "{\"text\":\"hi\"}");
    backendIn(Mode.ok(), 2000)
        .compose(b -> b.invoke(inv))
        .onComplete(
            t.succeeding(
                resp ->
                    t.verify(
                        () -> {
                          assertEquals(200, resp.status());
                          assertFalse(resp.isStream());
                          assertEquals(
                              "application/json",
                              resp.headers().get(SageMakerHeaders.CONTENT_TYPE));
                          assertEquals(
                              "variant-a",
                              resp.headers().get(SageMakerHeaders.INVOKED_PRODUCTION_VARIANT));
                          assertEquals("variant-a", resp.invokedVariant());
                          assertEquals(
                              "trace=abc", resp.headers().get(SageMakerHeaders.CUSTOM_ATTRIBUTES));
                          assertEquals(
                              ContainerStub.SESSION_ID,
                              resp.headers().get(SageMakerHeaders.NEW_SESSION_ID));
                          assertNull(
                              resp.headers().get(ContainerStub.INTERNAL_HEADER),
                              "container-internal header leaked");
                          JsonObject echo = resp.body().toJsonObject();
                          assertEquals("{\"text\":\"hi\"}", echo.getString("echo"));
                          assertEquals("/invocations", echo.getString("path"));

                          Received r = invocationsReceived().get(0);
                          assertEquals("POST", r.method());
                          assertEquals("{\"text\":\"hi\"}", r.body().toString());
                          assertEquals("application/json", r.headers().get("Content-Type"));
                          assertEquals("application/json", r.headers().get("Accept"));
                          assertEquals(
                              "trace=abc", r.headers().get(SageMakerHeaders.CUSTOM_ATTRIBUTES));
                          assertEquals(
                              "model-b.tar.gz", r.headers().get(SageMakerHeaders.TARGET_MODEL));
                          assertEquals("inf-1", r.headers().get(SageMakerHeaders.INFERENCE_ID));
                          assertEquals(
                              "`true`", r.headers().get(SageMakerHeaders.ENABLE_EXPLANATIONS));
                          assertEquals("NEW_SESSION", r.headers().get(SageMakerHeaders.SESSION_ID));
                          assertNull(r.headers().get("Authorization"));
                          assertNull(
                              r.headers().get(SageMakerHeaders.TARGET_VARIANT),
                              "routing header reached the container");
                          t.completeNow();
                        })));
  }

  private List<Received> invocationsReceived() {
    return stub.received().stream().filter(r -> "/invocations".equals(r.path())).toList();
  }

  @Test
  void modelErrorStatusBecomesModelErrorWithTruncatedMessage(VertxTestContext t) {
    String longMessage = "bad input: " + "x".repeat(5000);
    expectFailure(
        backendIn(Mode.error(400, longMessage), 2000)
            .compose(b -> b.invoke(call(Action.INVOKE, "{}"))),
        t,
        424,
        Errors.MODEL_ERROR,
        e -> {
          assertEquals(400, e.extraFields().get("OriginalStatusCode"));
          String original = (String) e.extraFields().get("OriginalMessage");
          assertEquals(ContainerBackend.MAX_MODEL_MESSAGE_CHARS, original.length());
          assertTrue(original.startsWith("bad input: xxx"), original);
          assertTrue(e.getMessage().contains("(400)"), e.getMessage());
          assertEquals(1, invocationsReceived().size());
        });
  }

  @Test
  void serverErrorFromModelIsAModelErrorToo(VertxTestContext t) {
    expectFailure(
        backendIn(Mode.error(503, "model busy"), 2000)
            .compose(b -> b.invoke(call(Action.INVOKE, "{}"))),
        t,
        424,
        Errors.MODEL_ERROR,
        e -> {
          assertEquals(503, e.extraFields().get("OriginalStatusCode"));
          assertEquals("model busy", e.extraFields().get("OriginalMessage"));
        });
  }

  @Test
  void hungModelTimesOutWith504(VertxTestContext t) {
    Future<ContainerBackend> ready = backendIn(Mode.hang(), SHORT_TIMEOUT_MS);
    Future<Received> arrived = ready.compose(b -> stub.invocationReceived());
    Future<GatewayException> failed =
        ready
            .compose(b -> b.invoke(call(Action.INVOKE, "{}")))
            .transform(ar -> failureOf(ar, "a hung model answered"));
    // The container really got the call, and the caller got a 504 without upstream text.
    Future.all(arrived, failed)
        .onComplete(
            t.succeeding(
                v ->
                    t.verify(
                        () -> {
                          GatewayException e = failed.result();
                          assertEquals(504, e.status());
                          assertEquals(Errors.GATEWAY_TIMEOUT, e.errorType());
                          assertNoUpstreamText(e);
                          assertEquals("backend:timeout", e.auditReason());
                          assertEquals("{}", arrived.result().body().toString());
                          t.completeNow();
                        })));
  }

  @Test
  void hungModelConnectionIsClosedAfterTheTimeout(VertxTestContext t) {
    // The call fails with the 504 (not just any failure), and the model's connection is closed.
    Future<GatewayException> failed =
        backendIn(Mode.hang(), SHORT_TIMEOUT_MS)
            .compose(b -> b.invoke(call(Action.INVOKE, "{}")))
            .transform(ar -> failureOf(ar, "a hung model answered"));
    failed
        .compose(e -> stub.requestAborted())
        .onComplete(
            t.succeeding(
                v ->
                    t.verify(
                        () -> {
                          GatewayException e = failed.result();
                          assertEquals(504, e.status());
                          assertEquals(Errors.GATEWAY_TIMEOUT, e.errorType());
                          assertEquals("backend:timeout", e.auditReason());
                          t.completeNow();
                        })));
  }

  /**
   * A caller that goes away while the model works abandons the call at once: the model's connection
   * is closed long before the 120 s timeout (the test gives up after 30 s), and the call fails as
   * caller_gone.
   */
  @Test
  void callerGoingAwayBeforeTheAnswerResetsTheModelCall(VertxTestContext t) {
    long timeoutMs = 120_000;
    Promise<Void> gone = Promise.promise();
    Future<ContainerBackend> ready = backendIn(Mode.hang(), timeoutMs);
    Future<GatewayException> failed =
        ready
            .compose(
                b -> {
                  Invocation base =
                      invocation(
                          endpoint(stub.url().toString(), timeoutMs), Action.INVOKE, json(), "{}");
                  Invocation inv =
                      new Invocation(
                          base.requestId(),
                          base.endpoint(),
                          base.action(),
                          base.caller(),
                          base.headers(),
                          base.body(),
                          base.credentials(),
                          null,
                          gone.future());
                  return b.invoke(inv);
                })
            .transform(ar -> failureOf(ar, "a hung model answered"));
    // Only once the model has the request does the caller go.
    Future<Void> aborted =
        ready
            .compose(b -> stub.invocationReceived())
            .compose(
                r -> {
                  gone.tryComplete();
                  return stub.requestAborted();
                });
    Future.all(failed, aborted)
        .onComplete(
            t.succeeding(
                v ->
                    t.verify(
                        () -> {
                          assertEquals("backend:caller_gone", failed.result().auditReason());
                          t.completeNow();
                        })));
  }

  @Test
  void bufferedAnswerStalledAfterTheHeadIs504AndTheRequestIsReset(VertxTestContext t) {
    // The head comes at once, the body never: the whole-call deadline (not a request idle
    // timeout, which Vert.x stops at the head) must end the call and give up the upstream.
    Future<GatewayException> failed =
        backendIn(Mode.slowStream(2), SHORT_TIMEOUT_MS)
            .compose(b -> b.invoke(call(Action.INVOKE, "{}")))
            .transform(ar -> failureOf(ar, "a stalled body was answered"));
    failed
        .compose(e -> stub.requestAborted().map(e))
        .onComplete(
            t.succeeding(
                e ->
                    t.verify(
                        () -> {
                          assertEquals(504, e.status());
                          assertEquals(Errors.GATEWAY_TIMEOUT, e.errorType());
                          assertEquals(
                              "model container for endpoint "
                                  + ENDPOINT
                                  + " did not answer within "
                                  + SHORT_TIMEOUT_MS
                                  + " ms",
                              e.getMessage());
                          assertEquals("backend:timeout", e.auditReason());
                          t.completeNow();
                        })));
  }

  @Test
  void refusedConnectionIs502WithAGenericMessage(VertxTestContext t) {
    expectFailure(
        backendIn(Mode.refuse(), 2000).compose(b -> b.invoke(call(Action.INVOKE, "{}"))),
        t,
        502,
        Errors.BAD_GATEWAY,
        e -> {
          assertNoUpstreamText(e);
          assertTrue(e.getMessage().contains("could not be reached"), e.getMessage());
          assertEquals("backend:connect_refused", e.auditReason());
        });
  }

  @Test
  void garbageAnswerIs502InvalidResponse(VertxTestContext t) {
    expectFailure(
        backendIn(Mode.garbage(), 2000).compose(b -> b.invoke(call(Action.INVOKE, "{}"))),
        t,
        502,
        Errors.BAD_GATEWAY,
        e -> {
          assertNoUpstreamText(e);
          assertTrue(e.getMessage().contains("invalid response"), e.getMessage());
          assertEquals("backend:invalid_response", e.auditReason());
          assertFalse(stub.received().isEmpty(), "the garbage server was not called");
        });
  }

  @Test
  void responseOverSixMebibytesIs502(VertxTestContext t) {
    int tooBig = (int) ContainerBackend.MAX_RESPONSE_BYTES + 1;
    expectFailure(
        backendIn(Mode.big(tooBig), 5000).compose(b -> b.invoke(call(Action.INVOKE, "{}"))),
        t,
        502,
        Errors.BAD_GATEWAY,
        e -> {
          assertTrue(e.getMessage().startsWith("model response exceeds"), e.getMessage());
          assertEquals("backend:response_too_large", e.auditReason());
        });
  }

  @Test
  void declaredLengthOverSixMebibytesIs502(VertxTestContext t) {
    int tooBig = (int) ContainerBackend.MAX_RESPONSE_BYTES + 1;
    expectFailure(
        backendIn(Mode.bigWithLength(tooBig), 5000)
            .compose(b -> b.invoke(call(Action.INVOKE, "{}"))),
        t,
        502,
        Errors.BAD_GATEWAY,
        e -> assertTrue(e.getMessage().startsWith("model response exceeds")));
  }

  /**
   * A garbage answer and an oversized declared length are logged once, by the backend, with the
   * endpoint and the request; Vert.x does not log them again at ERROR without either (as it does
   * for a connection or a response that has no exception handler).
   */
  @Test
  void brokenAnswersAreNotLoggedAgainAsUnattributedVertxErrors(VertxTestContext t) {
    StderrCapture err = StderrCapture.start();
    int tooBig = (int) ContainerBackend.MAX_RESPONSE_BYTES + 1;
    backendIn(Mode.garbage(), 2000)
        .compose(b -> b.invoke(call(Action.INVOKE, "{}")).otherwiseEmpty())
        .compose(v -> backend.checkHealth())
        .compose(v -> stub.mode(Mode.bigWithLength(tooBig)))
        .compose(v -> backend.invoke(call(Action.INVOKE, "{}")).otherwiseEmpty())
        .onComplete(
            ar -> {
              err.close();
              t.verify(
                  () -> {
                    assertTrue(ar.succeeded(), String.valueOf(ar.cause()));
                    String log = err.text();
                    assertTrue(
                        log.contains(
                            "endpoint " + ENDPOINT + " request req-1 backend:invalid_response"),
                        log);
                    assertFalse(log.contains("ERROR io.vertx"), log);
                  });
              t.completeNow();
            });
  }

  @Test
  void responseOfExactlySixMebibytesIsServed(VertxTestContext t) {
    int limit = (int) ContainerBackend.MAX_RESPONSE_BYTES;
    backendIn(Mode.big(limit), 5000)
        .compose(b -> b.invoke(call(Action.INVOKE, "{}")))
        .onComplete(
            t.succeeding(
                resp ->
                    t.verify(
                        () -> {
                          assertEquals(200, resp.status());
                          assertEquals(limit, resp.body().length());
                          t.completeNow();
                        })));
  }

  @Test
  void streamPassesChunkOneThroughBeforeChunkTwoExists(VertxTestContext t) {
    List<String> seen = new CopyOnWriteArrayList<>();
    backendIn(Mode.slowStream(3), 2000)
        .compose(b -> b.invokeStream(call(Action.INVOKE_STREAM, "{}")))
        .onComplete(
            t.succeeding(
                resp ->
                    t.verify(
                        () -> {
                          assertTrue(resp.isStream());
                          assertNull(resp.body());
                          // The body is SageMaker's event stream; the model's own media type has
                          // its own header.
                          assertEquals(
                              EventStreamFrames.CONTENT_TYPE,
                              resp.headers().get(SageMakerHeaders.CONTENT_TYPE));
                          assertEquals(
                              "text/plain",
                              resp.headers().get(SageMakerHeaders.STREAM_CONTENT_TYPE));
                          assertEquals("variant-a", resp.invokedVariant());
                          // The head arrived while no chunk was released yet: nothing waited for
                          // the body.
                          assertEquals(0, stub.releasedChunks());
                          resp.stream()
                              .handler(
                                  frame ->
                                      t.verify(
                                          () -> {
                                            String text = onlyPayloadPart(frame);
                                            seen.add(text);
                                            // Each chunk reaches us while the next one does not
                                            // exist yet at the stub.
                                            assertEquals(
                                                seen.size(),
                                                stub.releasedChunks(),
                                                "chunk arrived late: " + seen);
                                            assertEquals("chunk-" + (seen.size() - 1) + "\n", text);
                                            stub.releaseNextChunk();
                                          }));
                          resp.stream().exceptionHandler(t::failNow);
                          resp.stream()
                              .endHandler(
                                  v ->
                                      t.verify(
                                          () -> {
                                            assertEquals(
                                                List.of("chunk-0\n", "chunk-1\n", "chunk-2\n"),
                                                seen);
                                            t.completeNow();
                                          }));
                          resp.stream().resume();
                          stub.releaseNextChunk();
                        })));
  }

  @Test
  void cancelAbortsTheUpstreamStream(VertxTestContext t) {
    backendIn(Mode.slowStream(5), 2000)
        .compose(b -> b.invokeStream(call(Action.INVOKE_STREAM, "{}")))
        .onComplete(
            t.succeeding(
                resp -> {
                  resp.stream()
                      .handler(
                          chunk -> {
                            // The caller went away after the first chunk.
                            resp.cancel().run();
                            stub.requestAborted().onComplete(t.succeedingThenComplete());
                          });
                  resp.stream().resume();
                  stub.releaseNextChunk();
                }));
  }

  @Test
  void streamStalledBetweenChunksFailsTheStream(VertxTestContext t) {
    backendIn(Mode.slowStream(2), SHORT_TIMEOUT_MS)
        .compose(b -> b.invokeStream(call(Action.INVOKE_STREAM, "{}")))
        .onComplete(
            t.succeeding(
                resp -> {
                  // As SageMaker ends a stream it cannot finish: an InternalStreamFailure event,
                  // then the
                  // end, and the stalled upstream request is given up.
                  List<EventStreamFrame> frames = new CopyOnWriteArrayList<>();
                  EventStreamParser parser = new EventStreamParser(frames::add);
                  resp.stream().handler(parser::feed);
                  resp.stream()
                      .endHandler(
                          v ->
                              t.verify(
                                  () -> {
                                    assertTrue(frames.size() >= 1, "frames: " + frames);
                                    EventStreamFrame last = frames.get(frames.size() - 1);
                                    assertTrue(last.isException(), "last frame: " + last);
                                    assertEquals(
                                        EventStreamFrames.INTERNAL_STREAM_FAILURE, last.type());
                                    stub.requestAborted().onComplete(t.succeedingThenComplete());
                                  }));
                  resp.stream().resume();
                }));
  }

  /** The payload of a buffer holding exactly one PayloadPart frame. */
  private static String onlyPayloadPart(Buffer frame) {
    List<EventStreamFrame> frames = new java.util.ArrayList<>();
    EventStreamParser parser = new EventStreamParser(frames::add);
    parser.feed(frame);
    parser.end();
    assertEquals(1, frames.size());
    assertTrue(frames.get(0).isPayloadPart());
    return frames.get(0).payloadText();
  }

  @Test
  void streamModelErrorIsAModelError(VertxTestContext t) {
    expectFailure(
        backendIn(Mode.error(400, "no stream for you"), 2000)
            .compose(b -> b.invokeStream(call(Action.INVOKE_STREAM, "{}"))),
        t,
        424,
        Errors.MODEL_ERROR,
        e -> assertEquals("no stream for you", e.extraFields().get("OriginalMessage")));
  }

  @Test
  void streamHungBeforeTheHeadIs504(VertxTestContext t) {
    expectFailure(
        backendIn(Mode.hang(), SHORT_TIMEOUT_MS)
            .compose(b -> b.invokeStream(call(Action.INVOKE_STREAM, "{}"))),
        t,
        504,
        Errors.GATEWAY_TIMEOUT,
        this::assertNoUpstreamText);
  }

  @Test
  void streamToRefusedContainerIs502(VertxTestContext t) {
    expectFailure(
        backendIn(Mode.refuse(), 2000)
            .compose(b -> b.invokeStream(call(Action.INVOKE_STREAM, "{}"))),
        t,
        502,
        Errors.BAD_GATEWAY,
        this::assertNoUpstreamText);
  }

  @Test
  void healthyWhenPingAnswers200(VertxTestContext t) {
    backendIn(Mode.ok(), 2000)
        .compose(b -> b.checkHealth())
        .onComplete(
            t.succeeding(
                ok ->
                    t.verify(
                        () -> {
                          assertTrue(ok);
                          assertTrue(backend.healthy());
                          assertTrue(
                              stub.received().stream()
                                  .anyMatch(
                                      r -> "/ping".equals(r.path()) && "GET".equals(r.method())));
                          t.completeNow();
                        })));
  }

  @Test
  void unhealthyWhenPingFails(VertxTestContext t) {
    backendIn(Mode.error(500, "sick"), 2000)
        .compose(b -> b.checkHealth())
        .onComplete(
            t.succeeding(
                ok ->
                    t.verify(
                        () -> {
                          assertFalse(ok);
                          assertFalse(backend.healthy());
                          t.completeNow();
                        })));
  }

  @Test
  void unhealthyWhenRefused(VertxTestContext t) {
    backendIn(Mode.refuse(), 2000)
        .compose(b -> b.checkHealth())
        .onComplete(
            t.succeeding(
                ok ->
                    t.verify(
                        () -> {
                          assertFalse(ok);
                          assertFalse(backend.healthy());
                          t.completeNow();
                        })));
  }

  @Test
  void unhealthyWhenPingHangs(VertxTestContext t) {
    backendIn(Mode.hang(), SHORT_TIMEOUT_MS)
        .compose(b -> b.checkHealth())
        .onComplete(
            t.succeeding(
                ok ->
                    t.verify(
                        () -> {
                          assertFalse(ok);
                          t.completeNow();
                        })));
  }

  @Test
  void healthRecoversWhenTheContainerComesBack(VertxTestContext t) {
    backendIn(Mode.refuse(), 2000)
        .compose(b -> b.checkHealth())
        .compose(
            first -> {
              t.verify(() -> assertFalse(first));
              return stub.mode(Mode.ok());
            })
        .compose(v -> backend.checkHealth())
        .onComplete(
            t.succeeding(
                ok ->
                    t.verify(
                        () -> {
                          assertTrue(ok);
                          assertTrue(backend.healthy());
                          t.completeNow();
                        })));
  }

  @Test
  void closedBackendRefusesCallsAsUnavailable(VertxTestContext t) {
    expectFailure(
        backendIn(Mode.ok(), 2000)
            .compose(b -> b.close().compose(v -> b.invoke(call(Action.INVOKE, "{}")))),
        t,
        503,
        Errors.SERVICE_UNAVAILABLE,
        e -> assertNotNull(e.getMessage()));
  }
}
