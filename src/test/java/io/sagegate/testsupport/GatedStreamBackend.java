package io.sagegate.testsupport;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerResponse;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A model container whose every answer is a chunked stream that the test holds open: {@link #FIRST}
 * at once, then {@link #FINAL} and the end only when the test calls {@link #release()}. Several
 * streams may be held at once (the stub in {@link ContainerStub} holds one).
 */
public final class GatedStreamBackend {

  public static final String FIRST = "first-part\n";
  public static final String FINAL = "final-part\n";

  private final Vertx vertx;
  private final HttpServer server;
  private final List<HttpServerResponse> held = new CopyOnWriteArrayList<>();
  private final AtomicInteger started = new AtomicInteger();

  private GatedStreamBackend(Vertx vertx, HttpServer server) {
    this.vertx = vertx;
    this.server = server;
  }

  public static Future<GatedStreamBackend> start(Vertx vertx) {
    GatedStreamBackend[] self = new GatedStreamBackend[1];
    HttpServer server = vertx.createHttpServer();
    server.requestHandler(
        req -> {
          if (req.path().endsWith("/ping")) {
            req.response().end("{\"status\":\"ok\"}");
            return;
          }
          req.body()
              .onSuccess(
                  body -> {
                    HttpServerResponse resp =
                        req.response().setChunked(true).putHeader("Content-Type", "text/plain");
                    resp.write(FIRST);
                    self[0].held.add(resp);
                    self[0].started.incrementAndGet();
                  });
        });
    return server
        .listen(0, "127.0.0.1")
        .map(
            s -> {
              self[0] = new GatedStreamBackend(vertx, s);
              return self[0];
            });
  }

  public URI url() {
    return URI.create("http://127.0.0.1:" + server.actualPort());
  }

  /** Streams begun so far. */
  public int started() {
    return started.get();
  }

  /** Waits (bounded) until {@code n} streams have begun. */
  public void awaitStarted(int n, Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (started.get() < n) {
      if (System.nanoTime() > end) {
        throw new AssertionError(
            "only " + started.get() + " of " + n + " streams began within " + timeout);
      }
      TimeUnit.MILLISECONDS.sleep(20);
    }
  }

  /** Ends every held stream with {@link #FINAL}. */
  public void release() {
    vertx.runOnContext(
        v -> {
          for (HttpServerResponse r : held) {
            if (!r.closed() && !r.ended()) {
              r.end(FINAL);
            }
          }
          held.clear();
        });
  }

  /** Whether a held stream's connection was closed by its caller (the gateway) before release. */
  public boolean anyClosedEarly() {
    return held.stream().anyMatch(HttpServerResponse::closed);
  }

  public Future<Void> close() {
    return server.close();
  }
}
