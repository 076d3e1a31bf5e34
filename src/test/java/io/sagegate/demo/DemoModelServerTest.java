package io.sagegate.demo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.backend.container.ContainerBackend;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.eventstream.EventStreamParser;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class DemoModelServerTest {

  private static final String ENDPOINT = "sentiment-test";

  private Vertx vertx;
  private DemoModelServer demo;
  private WebClient client;

  @BeforeEach
  void start(Vertx vertx, VertxTestContext t) {
    this.vertx = vertx;
    this.client = WebClient.create(vertx);
    DemoModelServer.start(vertx, ENDPOINT, "127.0.0.1", 0)
        .onComplete(
            t.succeeding(
                d -> {
                  demo = d;
                  t.completeNow();
                }));
  }

  @AfterEach
  void stop(VertxTestContext t) {
    client.close();
    demo.close().onComplete(t.succeedingThenComplete());
  }

  private Future<HttpResponse<Buffer>> post(String body) {
    return client
        .post(demo.port(), "127.0.0.1", "/invocations")
        .putHeader("Content-Type", "application/json")
        .sendBuffer(Buffer.buffer(body));
  }

  @Test
  void listensOnAFreePortAndNamesItsUrl() {
    assertTrue(demo.port() > 0);
    assertEquals("http://127.0.0.1:" + demo.port(), demo.url().toString());
  }

  @Test
  void pingAnswersOk(VertxTestContext t) {
    client
        .get(demo.port(), "127.0.0.1", "/ping")
        .send()
        .onComplete(
            t.succeeding(
                r ->
                    t.verify(
                        () -> {
                          assertEquals(200, r.statusCode());
                          assertEquals(new JsonObject().put("status", "ok"), r.bodyAsJsonObject());
                          t.completeNow();
                        })));
  }

  @Test
  void positiveTextIsPositiveAndAnswersAreByteForByteDeterministic(VertxTestContext t) {
    post("{\"text\":\"great product\"}")
        .compose(
            first -> post("{\"text\":\"great product\"}").map(second -> List.of(first, second)))
        .onComplete(
            t.succeeding(
                both ->
                    t.verify(
                        () -> {
                          HttpResponse<Buffer> r = both.get(0);
                          assertEquals(200, r.statusCode());
                          assertEquals("application/json", r.getHeader("Content-Type"));
                          assertEquals(
                              "{\"endpoint\":\"sentiment-test\",\"model\":\"sagegate-demo\",\"label\":\"POSITIVE\","
                                  + "\"score\":0.75,\"tokens\":2}",
                              r.bodyAsString());
                          assertEquals(r.body(), both.get(1).body());
                          t.completeNow();
                        })));
  }

  @Test
  void negativeAndNeutralTexts(VertxTestContext t) {
    post("{\"text\":\"Terrible, awful scam!\"}")
        .compose(neg -> post("{\"text\":\"the box arrived\"}").map(neu -> List.of(neg, neu)))
        .onComplete(
            t.succeeding(
                both ->
                    t.verify(
                        () -> {
                          JsonObject neg = both.get(0).bodyAsJsonObject();
                          assertEquals("NEGATIVE", neg.getString("label"));
                          assertEquals(3, neg.getInteger("tokens"));
                          assertEquals(0.88, neg.getDouble("score"));
                          JsonObject neu = both.get(1).bodyAsJsonObject();
                          assertEquals("NEUTRAL", neu.getString("label"));
                          assertEquals(0.5, neu.getDouble("score"));
                          t.completeNow();
                        })));
  }

  @Test
  void echoesCustomAttributes(VertxTestContext t) {
    client
        .post(demo.port(), "127.0.0.1", "/invocations")
        .putHeader(DemoModelServer.CUSTOM_ATTRIBUTES, "trace=42")
        .sendBuffer(Buffer.buffer("{\"text\":\"nice\"}"))
        .onComplete(
            t.succeeding(
                r ->
                    t.verify(
                        () -> {
                          assertEquals("trace=42", r.getHeader(DemoModelServer.CUSTOM_ATTRIBUTES));
                          t.completeNow();
                        })));
  }

  @Test
  void noCustomAttributesNoHeader(VertxTestContext t) {
    post("{\"text\":\"nice\"}")
        .onComplete(
            t.succeeding(
                r ->
                    t.verify(
                        () -> {
                          assertNull(r.getHeader(DemoModelServer.CUSTOM_ATTRIBUTES));
                          t.completeNow();
                        })));
  }

  @Test
  void badInputIs400WithAJsonError(VertxTestContext t) {
    List<String> bad = List.of("not json", "", "[1,2]", "{\"text\":42}", "{\"words\":\"hi\"}");
    List<Future<HttpResponse<Buffer>>> answers = new ArrayList<>();
    bad.forEach(b -> answers.add(post(b)));
    Future.all(answers)
        .onComplete(
            t.succeeding(
                all ->
                    t.verify(
                        () -> {
                          for (int i = 0; i < bad.size(); i++) {
                            HttpResponse<Buffer> r = answers.get(i).result();
                            assertEquals(400, r.statusCode(), "for body " + bad.get(i));
                            assertTrue(r.bodyAsJsonObject().getString("error").length() > 0);
                          }
                          assertTrue(
                              answers
                                  .get(3)
                                  .result()
                                  .bodyAsJsonObject()
                                  .getString("error")
                                  .contains("text"));
                          t.completeNow();
                        })));
  }

  @Test
  void unknownPathIs404AndWrongMethodIs405(VertxTestContext t) {
    client
        .get(demo.port(), "127.0.0.1", "/nope")
        .send()
        .compose(
            notFound ->
                client
                    .get(demo.port(), "127.0.0.1", "/invocations")
                    .send()
                    .map(wrong -> List.of(notFound, wrong)))
        .compose(
            two ->
                client
                    .post(demo.port(), "127.0.0.1", "/ping")
                    .send()
                    .map(ping -> List.of(two.get(0), two.get(1), ping)))
        .onComplete(
            t.succeeding(
                r ->
                    t.verify(
                        () -> {
                          assertEquals(404, r.get(0).statusCode());
                          assertTrue(r.get(0).bodyAsJsonObject().containsKey("error"));
                          assertEquals(405, r.get(1).statusCode());
                          assertTrue(r.get(1).bodyAsJsonObject().containsKey("error"));
                          assertEquals(405, r.get(2).statusCode());
                          t.completeNow();
                        })));
  }

  @Test
  void streamAnswersOneChunkedLinePerWordThenTheResult(VertxTestContext t) {
    // A raw socket, its reader attached before the request is written: an HTTP client's response
    // handler, set once the head is in, could miss the first word sent in the same packet. The
    // chunked framing is then read as sent.
    String body = "{\"text\":\"great product\",\"stream\":true}";
    vertx
        .createNetClient()
        .connect(demo.port(), "127.0.0.1")
        .compose(
            socket -> {
              Buffer raw = Buffer.buffer();
              Promise<Buffer> ended = Promise.promise();
              socket.handler(raw::appendBuffer);
              socket.endHandler(v -> ended.tryComplete(raw));
              socket.exceptionHandler(ended::tryFail);
              socket.write(
                  "POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      + "Content-Type: application/json\r\nConnection: close\r\n"
                      + "Content-Length: "
                      + body.length()
                      + "\r\n\r\n"
                      + body);
              return ended.future();
            })
        .onComplete(
            t.succeeding(
                raw ->
                    t.verify(
                        () -> {
                          String text = raw.toString();
                          int headEnd = text.indexOf("\r\n\r\n");
                          String head = text.substring(0, headEnd).toLowerCase(Locale.ROOT);
                          assertTrue(head.startsWith("http/1.1 200"), head);
                          assertTrue(head.contains("transfer-encoding: chunked"), head);
                          List<String> chunks = chunks(text.substring(headEnd + 4));
                          String all = String.join("", chunks);
                          String[] lines = all.split("\n");
                          assertEquals(3, lines.length, all);
                          assertEquals(
                              new JsonObject().put("token", "great").put("index", 0),
                              new JsonObject(lines[0]));
                          assertEquals(
                              new JsonObject().put("token", "product").put("index", 1),
                              new JsonObject(lines[1]));
                          JsonObject last = new JsonObject(lines[2]);
                          assertEquals("POSITIVE", last.getString("label"));
                          assertEquals(true, last.getBoolean("done"));
                          assertTrue(
                              chunks.size() >= 2,
                              "the words were not written as separate chunks: " + chunks);
                          t.completeNow();
                        })));
  }

  /** The data of each chunk of a chunked HTTP/1.1 body, up to the last (empty) chunk. */
  private static List<String> chunks(String body) {
    List<String> out = new ArrayList<>();
    int at = 0;
    for (; ; ) {
      int lineEnd = body.indexOf("\r\n", at);
      int size = Integer.parseInt(body.substring(at, lineEnd).trim(), 16);
      if (size == 0) {
        return out;
      }
      out.add(body.substring(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
  }

  private static EndpointConfig endpoint(String url) {
    return new EndpointConfig(
        ENDPOINT,
        Map.of(),
        new BackendConfig(BackendConfig.DEMO, url, null, null, 2, null, null, null));
  }

  private static Invocation invocation(EndpointConfig endpoint, String body) {
    Caller caller = new Caller("alice", "sagegate-dev", null, null, null, null, null, null);
    InvocationHeaders headers =
        new InvocationHeaders(
            "application/json",
            null,
            "k=v",
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
    return new Invocation(
        "r-1",
        endpoint,
        Action.INVOKE,
        caller,
        headers,
        Buffer.buffer(body),
        ScopedCredentials.NONE);
  }

  @Test
  void containerBackendServesTheDemo(VertxTestContext t) {
    EndpointConfig e = endpoint(null);
    ContainerBackend backend = new ContainerBackend(vertx, e, demo.url());
    backend
        .invoke(invocation(e, "{\"text\":\"excellent\"}"))
        .eventually(backend::close)
        .onComplete(
            t.succeeding(
                resp ->
                    t.verify(
                        () -> {
                          assertEquals("POSITIVE", resp.body().toJsonObject().getString("label"));
                          assertEquals("AllTraffic", resp.invokedVariant());
                          assertEquals(
                              "k=v", resp.headers().get(SageMakerHeaders.CUSTOM_ATTRIBUTES));
                          t.completeNow();
                        })));
  }

  @Test
  void demoRefusingInputIsAModelErrorThroughTheBackend(VertxTestContext t) {
    EndpointConfig e = endpoint(null);
    ContainerBackend backend = new ContainerBackend(vertx, e, demo.url());
    backend
        .invoke(invocation(e, "not json"))
        .eventually(backend::close)
        .onComplete(
            t.failing(
                err ->
                    t.verify(
                        () -> {
                          GatewayException g = (GatewayException) err;
                          assertEquals(424, g.status());
                          assertEquals(Errors.MODEL_ERROR, g.errorType());
                          assertEquals(400, g.extraFields().get("OriginalStatusCode"));
                          t.completeNow();
                        })));
  }

  @Test
  void containerBackendStreamsTheDemoThroughToTheEnd(VertxTestContext t) {
    EndpointConfig e = endpoint(null);
    ContainerBackend backend = new ContainerBackend(vertx, e, demo.url());
    Invocation inv = invocation(e, "{\"text\":\"love this, best ever\",\"stream\":true}");
    Buffer all = Buffer.buffer();
    EventStreamParser parser = new EventStreamParser(frame -> all.appendBytes(frame.payload()));
    backend
        .invokeStream(inv)
        .onComplete(
            t.succeeding(
                resp -> {
                  t.verify(
                      () ->
                          assertEquals(
                              "application/jsonlines",
                              resp.headers().get(SageMakerHeaders.STREAM_CONTENT_TYPE)));
                  resp.stream().handler(parser::feed);
                  resp.stream().exceptionHandler(t::failNow);
                  resp.stream()
                      .endHandler(
                          v ->
                              backend
                                  .close()
                                  .onComplete(
                                      t.succeeding(
                                          x ->
                                              t.verify(
                                                  () -> {
                                                    String[] lines = all.toString().split("\n");
                                                    assertEquals(5, lines.length, all.toString());
                                                    assertEquals(
                                                        "love",
                                                        new JsonObject(lines[0])
                                                            .getString("token"));
                                                    assertEquals(
                                                        "ever",
                                                        new JsonObject(lines[3])
                                                            .getString("token"));
                                                    JsonObject last = new JsonObject(lines[4]);
                                                    assertEquals(
                                                        "POSITIVE", last.getString("label"));
                                                    assertEquals(true, last.getBoolean("done"));
                                                    t.completeNow();
                                                  }))));
                  resp.stream().resume();
                }));
  }
}
