package io.sagegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.junit5.VertxExtension;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A stage whose asynchronous work ends on another thread (a key fetch shared with a request on
 * another event loop, an SDK callback) still has the rest of its exchange, and the response, run on
 * the connection's own event loop. Served by a real HTTP server in Vert.x's strict thread mode,
 * which refuses a response written from any other thread, so a stage or answer that ran off the
 * loop fails the request here, besides the thread checks.
 */
@ExtendWith(VertxExtension.class)
class ExchangeLoopTest {

  private final ExecutorService foreign =
      Executors.newSingleThreadExecutor(r -> new Thread(r, "foreign"));
  private final HttpClient client =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final AtomicReference<Thread> servedOn = new AtomicReference<>();
  private final AtomicReference<Thread> answeredOn = new AtomicReference<>();

  @AfterEach
  void stop() throws InterruptedException {
    foreign.shutdownNow();
    foreign.awaitTermination(5, TimeUnit.SECONDS);
  }

  @Test
  void nextCalledFromAnotherThreadRunsTheNextStageOnTheLoop(Vertx vertx) throws Exception {
    Stage handOff =
        ex -> {
          servedOn.set(Thread.currentThread());
          ex.later();
          foreign.execute(ex::next);
        };
    Stage answer =
        ex -> {
          answeredOn.set(Thread.currentThread());
          ex.response().end("answered");
        };
    HttpResponse<String> response = call(vertx, List.of(handOff, answer));

    assertEquals(200, response.statusCode());
    assertEquals("answered", response.body());
    assertNotNull(servedOn.get());
    assertSame(
        servedOn.get(), answeredOn.get(), "the second stage ran on " + answeredOn.get().getName());
  }

  @Test
  void failCalledFromAnotherThreadIsAnsweredOnTheLoop(Vertx vertx) throws Exception {
    Stage failsLater =
        ex -> {
          servedOn.set(Thread.currentThread());
          ex.later();
          foreign.execute(() -> ex.fail(new IllegalStateException("refused later")));
        };
    HttpResponse<String> response = call(vertx, List.of(failsLater));

    assertEquals(503, response.statusCode());
    assertEquals("refused later", response.body());
    assertSame(
        servedOn.get(),
        answeredOn.get(),
        "the failure was answered on " + answeredOn.get().getName());
  }

  @Test
  void onLoopFromAnotherThreadWritesTheResponseOnTheLoop(Vertx vertx) throws Exception {
    Stage answersLater =
        ex -> {
          servedOn.set(Thread.currentThread());
          ex.later();
          foreign.execute(
              () ->
                  ex.onLoop(
                      () -> {
                        answeredOn.set(Thread.currentThread());
                        ex.response().end("answered later");
                      }));
        };
    HttpResponse<String> response = call(vertx, List.of(answersLater));

    assertEquals(200, response.statusCode());
    assertEquals("answered later", response.body());
    assertSame(
        servedOn.get(),
        answeredOn.get(),
        "the response was written on " + answeredOn.get().getName());
  }

  @Test
  void onLoopOnTheLoopRunsAtOnce(Vertx vertx) throws Exception {
    Stage answersNow =
        ex -> {
          servedOn.set(Thread.currentThread());
          AtomicReference<String> order = new AtomicReference<>("before");
          ex.onLoop(() -> order.set("ran"));
          ex.response().end(order.get());
        };
    HttpResponse<String> response = call(vertx, List.of(answersNow));

    assertEquals(200, response.statusCode());
    assertEquals("ran", response.body());
  }

  /**
   * A stage that returns having called neither next() nor fail() (nor said it finishes later) fails
   * the request at once, naming the stage, instead of leaving the caller waiting for the idle
   * timeout (here the client would give up after 10 s).
   */
  @Test
  void aStageThatForgetsNextAndFailFailsTheRequestAtOnce(Vertx vertx) throws Exception {
    Stage forgetful = ex -> servedOn.set(Thread.currentThread());
    Stage neverReached = ex -> ex.response().end("reached");
    long start = System.nanoTime();
    HttpResponse<String> response = call(vertx, List.of(forgetful, neverReached));

    assertEquals(503, response.statusCode());
    assertTrue(
        response.body().contains("returned without calling next(), fail() or later()"),
        response.body());
    assertTrue(response.body().contains(ExchangeLoopTest.class.getName()), response.body());
    assertTrue(Duration.ofNanos(System.nanoTime() - start).toSeconds() < 5, "answered at once");
  }

  /** A stage that ends the response itself (the last stage answering) has moved on. */
  @Test
  void aStageThatAnswersItselfNeedsNoNext(Vertx vertx) throws Exception {
    HttpResponse<String> response = call(vertx, List.of(ex -> ex.response().end("done")));

    assertEquals(200, response.statusCode());
    assertEquals("done", response.body());
  }

  /** One request through a strict-thread-mode server running {@code stages}. */
  private HttpResponse<String> call(Vertx vertx, List<Stage> stages) throws Exception {
    Pipeline pipeline =
        new Pipeline(
            stages,
            (ex, failure) -> {
              answeredOn.set(Thread.currentThread());
              ex.response().setStatusCode(503).end(failure.getMessage());
            });
    HttpServer server =
        vertx
            .createHttpServer(new HttpServerOptions().setStrictThreadMode(true))
            .requestHandler(pipeline)
            .listen(0, "127.0.0.1")
            .await(10, TimeUnit.SECONDS);
    try {
      HttpRequest request =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.actualPort() + "/"))
              .timeout(Duration.ofSeconds(10))
              .POST(HttpRequest.BodyPublishers.ofString("{}"))
              .build();
      return client.send(request, HttpResponse.BodyHandlers.ofString());
    } finally {
      server.close().await(10, TimeUnit.SECONDS);
    }
  }
}
