package io.sagegate.gateway;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.ext.web.Router;
import java.util.function.BooleanSupplier;

/**
 * The management port, apart from traffic: liveness, readiness (configuration and token keys
 * loaded) and Prometheus metrics.
 */
final class ManagementRoutes {

  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private final BooleanSupplier ready;

  ManagementRoutes(Vertx vertx, PrometheusMeterRegistry registry, BooleanSupplier ready) {
    this.vertx = vertx;
    this.registry = registry;
    this.ready = ready;
  }

  Router router() {
    Router router = Router.router(vertx);
    router.get("/healthz").handler(ctx -> ctx.response()
        .putHeader("Content-Type", "application/json").end("{\"status\":\"ok\"}"));
    router.get("/readyz").handler(ctx -> {
      boolean isReady = ready.getAsBoolean();
      ctx.response().setStatusCode(isReady ? 200 : 503)
          .putHeader("Content-Type", "application/json")
          .end(isReady ? "{\"status\":\"ready\"}" : "{\"status\":\"not ready\"}");
    });
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        .end(registry.scrape()));
    return router;
  }
}
