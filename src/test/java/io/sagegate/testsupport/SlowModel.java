package io.sagegate.testsupport;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.net.URI;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A slow model container for admission tests: a real HTTP server speaking the SageMaker container
 * contract that answers each {@code POST /invocations} after a set delay, and records how many
 * calls it held at once at most, the figure a concurrency limit must bound.
 */
public final class SlowModel {

  private final Vertx vertx;
  private final long delayMs;
  private final AtomicInteger current = new AtomicInteger();
  private final AtomicInteger max = new AtomicInteger();
  private final AtomicInteger total = new AtomicInteger();
  private HttpServer server;

  private SlowModel(Vertx vertx, long delayMs) {
    this.vertx = vertx;
    this.delayMs = delayMs;
  }

  public static Future<SlowModel> start(Vertx vertx, long delayMs) {
    SlowModel model = new SlowModel(vertx, delayMs);
    return vertx
        .createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
        .requestHandler(
            req -> {
              if ("/ping".equals(req.path())) {
                req.response().end("{\"status\":\"ok\"}");
                return;
              }
              req.body()
                  .onSuccess(
                      body -> {
                        int now = model.current.incrementAndGet();
                        model.total.incrementAndGet();
                        model.max.accumulateAndGet(now, Math::max);
                        vertx.setTimer(
                            model.delayMs,
                            id -> {
                              model.current.decrementAndGet();
                              req.response()
                                  .putHeader("Content-Type", "application/json")
                                  .end("{\"ok\":true}");
                            });
                      });
            })
        .listen()
        .map(
            s -> {
              model.server = s;
              return model;
            });
  }

  public URI url() {
    return URI.create("http://127.0.0.1:" + server.actualPort());
  }

  /** The most calls the model held at once. */
  public int maxConcurrent() {
    return max.get();
  }

  /** Invocations received in all. */
  public int total() {
    return total.get();
  }

  public void reset() {
    max.set(current.get());
    total.set(0);
  }

  public Future<Void> close() {
    return server.close();
  }
}
