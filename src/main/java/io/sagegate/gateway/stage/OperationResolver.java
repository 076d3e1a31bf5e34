package io.sagegate.gateway.stage;

import io.sagegate.authz.Action;
import io.sagegate.config.EndpointConfig;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.sagegate.openai.OpenAiCall;
import io.sagegate.openai.OpenAiRoutes;
import io.vertx.core.http.HttpMethod;
import java.util.Objects;

/**
 * Reads the operation from the raw request path, exactly as SageMaker Runtime spells it: {@code
 * POST /endpoints/{EndpointName}/invocations}, {@code /invocations-response-stream} or {@code
 * /async-invocations}. The raw path is used on purpose (not a decoded or normalised one), so
 * percent-encoding, dot segments and trailing slashes never turn into another endpoint's name: they
 * fail the match or the name pattern instead.
 */
public final class OperationResolver implements Stage {

  private static final String PREFIX = "/endpoints/";

  @Override
  public void handle(Exchange ex) {
    // Parsed by hand rather than with a regular expression: this runs on every request, and two
    // regex matches were a visible share of its cost. The grammar is tiny: a fixed prefix, a
    // name without '/', and one of three operation words.
    String path = ex.request().path();
    int slash = path == null || !path.startsWith(PREFIX) ? -1 : path.indexOf('/', PREFIX.length());
    Action action =
        slash < 0
            ? null
            : switch (path.substring(slash + 1)) {
              case "invocations" -> Action.INVOKE;
              case "invocations-response-stream" -> Action.INVOKE_STREAM;
              case "async-invocations" -> Action.INVOKE_ASYNC;
              default -> null;
            };
    if (action == null && slash > 0 && OpenAiRoutes.claims(path.substring(slash + 1))) {
      openAi(ex, path, slash);
      return;
    }
    if (action == null) {
      ex.fail(
          new GatewayException(
              404,
              Errors.UNKNOWN_OPERATION,
              "No operation at this path; use POST /endpoints/{EndpointName}/invocations,"
                  + " /invocations-response-stream or /async-invocations"));
      return;
    }
    resolved(ex, HttpMethod.POST, action, path.substring(PREFIX.length(), slash));
  }

  /**
   * The end of both routes once the operation is known: its method checked, its action recorded,
   * the endpoint name checked and named; then the next stage.
   */
  private static void resolved(Exchange ex, HttpMethod allowed, Action action, String name) {
    if (ex.request().method() != allowed) {
      ex.fail(
          new GatewayException(
                  405,
                  Errors.METHOD_NOT_ALLOWED,
                  "Method "
                      + ex.request().method().name()
                      + " is not allowed; use "
                      + allowed.name())
              .withHeader("Allow", allowed.name()));
      return;
    }
    ex.audit().action(action);
    if (!validName(name)) {
      ex.fail(badName(name));
      return;
    }
    ex.operation(action, name);
    named(ex, name);
    ex.next();
  }

  /**
   * Names the endpoint in the record from here on, so a call refused before the rules (a 401, say)
   * still says which endpoint it targeted. Only configured names: the record's endpoint is also a
   * metric label, which must stay bounded (an unknown name is audited as none, as before).
   */
  private static void named(Exchange ex, String name) {
    EndpointConfig target = ex.state().endpoint(name);
    if (target != null) {
      ex.audit().endpoint(target.name());
    }
  }

  /** The message for a name that is not SageMaker's endpoint name. */
  private static GatewayException badName(String name) {
    return Errors.validation(
        "Endpoint name '"
            + printable(name)
            + "' must match "
            + EndpointConfig.NAME_PATTERN
            + " and be at most "
            + EndpointConfig.NAME_MAX
            + " characters");
  }

  /**
   * The OpenAI-compatible routes ({@link OpenAiRoutes}): chat completions by POST, the models list
   * by GET. The action is {@code invoke} until OpenAiBody reads {@code "stream": true}.
   */
  private static void openAi(Exchange ex, String path, int slash) {
    OpenAiCall call;
    try {
      call = OpenAiRoutes.parse(path.substring(slash + 1));
    } catch (IllegalArgumentException e) {
      ex.openAi(new OpenAiCall(OpenAiCall.Route.CHAT_COMPLETIONS, null));
      ex.fail(
          Errors.validation(
              Objects.requireNonNull(e.getMessage(), "OpenAiRoutes.parse names what is wrong")));
      return;
    }
    if (call == null) {
      ex.openAi(new OpenAiCall(OpenAiCall.Route.CHAT_COMPLETIONS, null));
      ex.fail(
          new GatewayException(
              404,
              Errors.UNKNOWN_OPERATION,
              "No operation at this path; the OpenAI-compatible routes are POST .../openai/v1/chat/completions"
                  + " and GET .../openai/v1/models"));
      return;
    }
    ex.openAi(call);
    ex.audit().api("openai/v1/" + call.route().path());
    HttpMethod allowed = call.route() == OpenAiCall.Route.MODELS ? HttpMethod.GET : HttpMethod.POST;
    resolved(ex, allowed, Action.INVOKE, path.substring(PREFIX.length(), slash));
  }

  /** {@link EndpointConfig#validName}: SageMaker's pattern and length limit. */
  static boolean validName(String name) {
    return EndpointConfig.validName(name);
  }

  /** The name as shown in a message: bounded and without control characters. */
  private static String printable(String name) {
    String s = name.length() > 80 ? name.substring(0, 80) + "..." : name;
    return s.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
