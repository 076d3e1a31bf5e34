package io.sagegate.gateway.stage;

import io.sagegate.authz.Action;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.vertx.core.http.HttpMethod;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the operation from the raw request path, exactly as SageMaker Runtime spells it: {@code
 * POST /endpoints/{EndpointName}/invocations}, {@code /invocations-response-stream} or {@code
 * /async-invocations}. The raw path is used on purpose (not a decoded or normalised one), so
 * percent-encoding, dot segments and trailing slashes never turn into another endpoint's name:
 * they fail the match or the name pattern instead.
 */
public final class OperationResolver implements Stage {

  private static final Pattern OPERATION =
      Pattern.compile("^/endpoints/([^/]*)/(invocations|invocations-response-stream|async-invocations)$");
  /** SageMaker's endpoint name pattern. */
  private static final Pattern ENDPOINT_NAME = Pattern.compile("^[a-zA-Z0-9](-*[a-zA-Z0-9])*$");
  private static final int MAX_NAME = 63;

  @Override
  public void handle(Exchange ex) {
    String path = ex.request().path();
    Matcher m = OPERATION.matcher(path == null ? "" : path);
    if (!m.matches()) {
      ex.fail(new GatewayException(404, Errors.UNKNOWN_OPERATION,
          "No operation at this path; use POST /endpoints/{EndpointName}/invocations,"
              + " /invocations-response-stream or /async-invocations"));
      return;
    }
    if (ex.request().method() != HttpMethod.POST) {
      ex.fail(new GatewayException(405, Errors.METHOD_NOT_ALLOWED,
              "Method " + ex.request().method().name() + " is not allowed; use POST")
          .withHeader("Allow", "POST"));
      return;
    }
    Action action = switch (m.group(2)) {
      case "invocations" -> Action.INVOKE;
      case "invocations-response-stream" -> Action.INVOKE_STREAM;
      default -> Action.INVOKE_ASYNC;
    };
    ex.audit().action = action.ruleName();
    String name = m.group(1);
    if (name.length() > MAX_NAME || !ENDPOINT_NAME.matcher(name).matches()) {
      ex.fail(Errors.validation("Endpoint name '" + printable(name)
          + "' must match " + ENDPOINT_NAME.pattern() + " and be at most " + MAX_NAME + " characters"));
      return;
    }
    ex.operation(action, name);
    ex.next();
  }

  /** The name as shown in a message: bounded and without control characters. */
  private static String printable(String name) {
    String s = name.length() > 80 ? name.substring(0, 80) + "..." : name;
    return s.replaceAll("[^\\x20-\\x7e]", "?");
  }
}
