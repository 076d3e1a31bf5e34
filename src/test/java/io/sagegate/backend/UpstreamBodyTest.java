package io.sagegate.backend;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sagegate.backend.UpstreamBody.Overflow;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The bounded read both backends use, against a real HTTP server over a socket. */
class UpstreamBodyTest {

  static final GatewayException TOO_LARGE =
      Errors.badGateway("too large").withAuditReason("test:too_large");

  static Vertx vertx;
  static HttpServer server;
  static HttpClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    server =
        vertx
            .createHttpServer()
            .requestHandler(
                req -> {
                  var resp = req.response();
                  switch (req.path()) {
                    case "/chunks" -> {
                      resp.setChunked(true);
                      resp.write("abc");
                      resp.write("def");
                      resp.end("ghi");
                    }
                    case "/declared" -> resp.end("0123456789");
                    case "/empty" -> resp.end();
                    default -> resp.setStatusCode(404).end();
                  }
                })
            .listen(0, "127.0.0.1")
            .await(AWAIT_SECONDS, SECONDS);
    client = vertx.createHttpClient();
  }

  @AfterAll
  static void stop() throws Exception {
    if (vertx != null) {
      vertx.close().await(AWAIT_SECONDS, SECONDS);
    }
  }

  /**
   * Reads on a Vert.x context, as the backends do: the response's callbacks then run on its event
   * loop as they arrive, and the body's handlers are set before any of it is delivered (from a
   * plain thread, a short answer could end before they are).
   */
  static Future<Buffer> read(String path, long limit, Overflow overflow) {
    Promise<Buffer> result = Promise.promise();
    vertx.runOnContext(
        v ->
            client
                .request(HttpMethod.GET, server.actualPort(), "127.0.0.1", path)
                .compose(req -> req.send())
                .compose(
                    (HttpClientResponse resp) ->
                        UpstreamBody.read(resp, limit, overflow, () -> TOO_LARGE))
                .onComplete(result));
    return result.future();
  }

  static String text(Future<Buffer> f) throws Exception {
    return f.await(AWAIT_SECONDS, SECONDS).toString();
  }

  @Test
  void chunksAreJoinedInOrder() throws Exception {
    assertEquals("abcdefghi", text(read("/chunks", 9, Overflow.FAIL)));
  }

  @Test
  void anEmptyBodyIsEmpty() throws Exception {
    assertEquals("", text(read("/empty", 9, Overflow.FAIL)));
  }

  @Test
  void aDeclaredLengthOverTheLimitFailsBeforeReading() {
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () -> read("/declared", 9, Overflow.FAIL).await(AWAIT_SECONDS, SECONDS));
    assertSame(TOO_LARGE, e);
  }

  @Test
  void chunksBeyondTheLimitFailTheRead() {
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () -> read("/chunks", 7, Overflow.FAIL).await(AWAIT_SECONDS, SECONDS));
    assertSame(TOO_LARGE, e);
  }

  @Test
  void truncateKeepsTheFirstBytes() throws Exception {
    assertEquals("abcd", text(read("/chunks", 4, Overflow.TRUNCATE)));
    assertEquals("0123456", text(read("/declared", 7, Overflow.TRUNCATE)));
  }
}
