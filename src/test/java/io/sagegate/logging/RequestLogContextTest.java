package io.sagegate.logging;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.testsupport.StderrCapture;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The request id on every log line about a request, in both formats: a real Vert.x server on one
 * event loop handles two requests whose work interleaves (each logs at arrival and again from a
 * timer after the other has arrived), and each line names its own request; a line logged outside
 * any request names none.
 */
class RequestLogContextTest {

  private static final Logger LOG = LoggerFactory.getLogger(RequestLogContextTest.class);

  @AfterEach
  void defaults() {
    System.clearProperty(LogSettings.FORMAT_PROPERTY);
    System.clearProperty(LogSettings.LEVEL_PROPERTY);
    LogSettings.apply(null, null);
  }

  /** Two requests on one event loop, interleaved; returns what was logged. */
  private static String interleavedRequests() throws Exception {
    Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions().setEventLoopPoolSize(1));
    CountDownLatch bothArrived = new CountDownLatch(2);
    StderrCapture err = StderrCapture.start();
    try {
      HttpServer server =
          vertx
              .createHttpServer()
              .requestHandler(
                  req -> {
                    String id = req.getHeader("x-test-id");
                    RequestLogContext.set(id);
                    LOG.info("arrived {}", id);
                    bothArrived.countDown();
                    // Later work of this request, after the other request has run on the same loop:
                    // as a
                    // backend's answer arriving on another thread is handed back to the request's
                    // context
                    // (Exchange.onLoop).
                    io.vertx.core.Context ctx = Vertx.currentContext();
                    new Thread(
                            () -> {
                              try {
                                bothArrived.await(10, TimeUnit.SECONDS);
                              } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                              }
                              ctx.runOnContext(
                                  v -> {
                                    LOG.info("answering {}", id);
                                    req.response().end(id);
                                  });
                            })
                        .start();
                  })
              .listen(0)
              .await(AWAIT_SECONDS, SECONDS);
      LOG.info("outside any request");
      HttpClient client = HttpClient.newHttpClient();
      List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
      for (String id : List.of("req-one", "req-two")) {
        calls.add(
            client.sendAsync(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.actualPort() + "/"))
                    .header("x-test-id", id)
                    .timeout(Duration.ofSeconds(10))
                    .build(),
                HttpResponse.BodyHandlers.ofString()));
      }
      for (var call : calls) {
        assertEquals(200, call.get(15, TimeUnit.SECONDS).statusCode());
      }
      return err.text();
    } finally {
      err.close();
      vertx.close().await(AWAIT_SECONDS, SECONDS);
    }
  }

  @Test
  void jsonLinesCarryTheirRequestsId() throws Exception {
    LogSettings.apply(LogSettings.Format.JSON, null);
    String out = interleavedRequests();
    ObjectMapper json = new ObjectMapper();
    int seen = 0;
    for (String line :
        out.lines().filter(l -> l.contains(RequestLogContextTest.class.getName())).toList()) {
      JsonNode n = json.readTree(line);
      String message = n.path("message").asText();
      if (message.equals("outside any request")) {
        assertFalse(n.has("requestId"), line);
      } else {
        String id = message.substring(message.indexOf(' ') + 1);
        assertEquals(id, n.path("requestId").asText(), line);
        seen++;
      }
      assertEquals("INFO", n.path("level").asText());
    }
    assertEquals(4, seen, out);
  }

  @Test
  void textLinesCarryTheirRequestsId() throws Exception {
    String out = interleavedRequests();
    int seen = 0;
    for (String line :
        out.lines().filter(l -> l.contains(RequestLogContextTest.class.getName())).toList()) {
      if (line.endsWith("outside any request")) {
        assertFalse(line.contains("[request"), line);
      } else {
        String id = line.substring(line.lastIndexOf(' ') + 1);
        assertTrue(line.contains(" [request " + id + "] "), line);
        seen++;
      }
    }
    assertEquals(4, seen, out);
  }

  @Test
  void theLevelFlagHidesLowerLevels() throws Exception {
    LogSettings.apply(null, "warn");
    StderrCapture err = StderrCapture.start();
    try {
      LOG.info("an info line");
      LOG.warn("a warn line");
    } finally {
      err.close();
    }
    assertFalse(err.text().contains("an info line"), err.text());
    assertTrue(err.text().contains("a warn line"), err.text());
  }

  @Test
  void aBadLevelIsRefusedNamingIt() {
    var e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class, () -> LogSettings.apply(null, "loud"));
    assertTrue(e.getMessage().contains("'loud'"), e.getMessage());
  }
}
