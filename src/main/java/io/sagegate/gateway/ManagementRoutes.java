package io.sagegate.gateway;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import io.vertx.core.json.JsonObject;
import java.util.function.Supplier;

/**
 * The management port, apart from traffic: liveness, readiness (configuration and token keys
 * loaded) and Prometheus metrics.
 */
final class ManagementRoutes {

  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  /** Null when ready, else why not. */
  private final Supplier<String> notReady;

  ManagementRoutes(Vertx vertx, PrometheusMeterRegistry registry, Supplier<String> notReady) {
    this.vertx = vertx;
    this.registry = registry;
    this.notReady = notReady;
  }

  Router router() {
    Router router = Router.router(vertx);
    router.get("/healthz").handler(ctx -> ctx.response()
        .putHeader("Content-Type", "application/json").end("{\"status\":\"ok\"}"));
    router.get("/readyz").handler(ctx -> {
      String reason = notReady.get();
      ctx.response().setStatusCode(reason == null ? 200 : 503)
          .putHeader("Content-Type", "application/json")
          .end(reason == null ? "{\"status\":\"ready\"}"
              : new JsonObject().put("status", "not ready").put("reason", reason).encode());
    });
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        .end(registry.scrape()));
    return router;
  }
}
