package io.sagegate.gateway;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;

/**
 * The traffic server's request handler: every request runs the same stages, in order, as one {@link
 * Exchange}; any failure goes to the one failure handler. The order itself is written down in
 * {@link Gateway#pipeline}.
 */
public final class Pipeline implements Handler<HttpServerRequest> {

  private final Stage[] stages;
  private final Exchange.FailureHandler failureHandler;

  public Pipeline(List<Stage> stages, Exchange.FailureHandler failureHandler) {
    this.stages = stages.toArray(new Stage[0]);
    this.failureHandler = failureHandler;
  }

  @Override
  public void handle(HttpServerRequest request) {
    new Exchange(request, stages, failureHandler).next();
  }
}
