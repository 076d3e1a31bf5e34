package io.sagegate.gateway.stage;

import io.sagegate.config.EndpointConfig;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.sagegate.openai.OpenAiCall;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * On the OpenAI-compatible routes, once the call is allowed: an endpoint not served there ({@code
 * backend.openai.enabled}) answers 404, and the models list is answered here, from the gateway's
 * own configuration, without a backend call or credentials. It lists what the caller may invoke on
 * this route: the endpoint (or, in the component form, the inference component), by the name to
 * pass as {@code model}. A caller the rules do not allow has had its 403 already, the same answer
 * as for an endpoint that does not exist.
 */
public final class OpenAiEndpoint implements Stage {

  @Override
  public void handle(Exchange ex) {
    OpenAiCall call = ex.openAi();
    if (call == null) {
      ex.next();
      return;
    }
    EndpointConfig endpoint = ex.endpoint();
    if (!endpoint.backend().openaiEnabled()) {
      ex.fail(
          new GatewayException(
                  404,
                  Errors.UNKNOWN_OPERATION,
                  "Endpoint " + endpoint.name() + " is not served on the OpenAI-compatible path")
              .withAuditReason("openai:not_enabled"));
      return;
    }
    if (call.route() != OpenAiCall.Route.MODELS) {
      ex.next();
      return;
    }
    String id = call.component() != null ? call.component() : endpoint.name();
    JsonObject body =
        new JsonObject()
            .put("object", "list")
            .put(
                "data",
                new JsonArray()
                    .add(
                        new JsonObject()
                            .put("id", id)
                            .put("object", "model")
                            .put("created", 0)
                            .put("owned_by", "sagegate")));
    ex.response()
        .setStatusCode(200)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(body.toBuffer());
  }
}
