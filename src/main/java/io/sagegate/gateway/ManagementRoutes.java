package io.sagegate.gateway;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import java.util.List;

/**
 * The management port, apart from traffic: liveness, readiness ({@link Readiness}: 503 with the
 * reasons while any part is not ready, draining included) and Prometheus metrics.
 */
final class ManagementRoutes {

  private final Vertx vertx;
  private final PrometheusMeterRegistry registry;
  private final Readiness readiness;

  ManagementRoutes(Vertx vertx, PrometheusMeterRegistry registry, Readiness readiness) {
    this.vertx = vertx;
    this.registry = registry;
    this.readiness = readiness;
  }

  Router router() {
    Router router = Router.router(vertx);
    router
        .get("/healthz")
        .handler(
            ctx ->
                ctx.response()
                    .putHeader("Content-Type", "application/json")
                    .end("{\"status\":\"ok\"}"));
    router
        .get("/readyz")
        .handler(
            ctx -> {
              List<String> reasons = readiness.reasons();
              JsonObject body =
                  reasons.isEmpty()
                      ? new JsonObject().put("status", "ready")
                      : new JsonObject()
                          .put("status", "not ready")
                          .put("reason", String.join("; ", reasons))
                          .put("reasons", new JsonArray(reasons));
              ctx.response()
                  .setStatusCode(reasons.isEmpty() ? 200 : 503)
                  .putHeader("Content-Type", "application/json")
                  .end(body.encode());
            });
    router
        .get("/metrics")
        .handler(
            ctx ->
                ctx.response()
                    .putHeader("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                    .end(registry.scrape()));
    return router;
  }
}
