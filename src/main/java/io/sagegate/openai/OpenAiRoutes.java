package io.sagegate.openai;

import io.sagegate.config.EndpointConfig;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The OpenAI-compatible routes, mirroring SageMaker Runtime's: after {@code
 * /endpoints/{EndpointName}/}, either {@code openai/v1/...} or {@code
 * inference-components/{ComponentName}/openai/v1/...}, with {@code chat/completions} or {@code
 * models}. Matched on the raw path like the other operations, so encoded slashes, dot segments and
 * trailing slashes match nothing.
 */
public final class OpenAiRoutes {

  private static final String COMPONENTS = "inference-components/";
  private static final String OPENAI = "openai/v1/";

  private static final Pattern COMPONENT = EndpointConfig.COMPONENT_NAME;

  private OpenAiRoutes() {}

  /**
   * Whether {@code rest} (the path after the endpoint name and its slash) is meant for these
   * routes.
   */
  public static boolean claims(String rest) {
    return rest.startsWith(OPENAI) || rest.startsWith(COMPONENTS);
  }

  /**
   * The call {@code rest} names, or null when it names no route here.
   *
   * @throws IllegalArgumentException when the inference component name is malformed (the message
   *     names it)
   */
  public static @Nullable OpenAiCall parse(String rest) {
    String component = null;
    String tail = rest;
    if (rest.startsWith(COMPONENTS)) {
      int slash = rest.indexOf('/', COMPONENTS.length());
      if (slash < 0) {
        return null;
      }
      component = rest.substring(COMPONENTS.length(), slash);
      tail = rest.substring(slash + 1);
      if (!tail.startsWith(OPENAI)) {
        return null;
      }
      if (component.length() > EndpointConfig.NAME_MAX || !COMPONENT.matcher(component).matches()) {
        String shown = component.length() > 80 ? component.substring(0, 80) + "..." : component;
        throw new IllegalArgumentException(
            "Inference component name '"
                + shown.replaceAll("[^\\x20-\\x7e]", "?")
                + "' must match "
                + COMPONENT.pattern()
                + " and be at most "
                + EndpointConfig.NAME_MAX
                + " characters");
      }
    }
    if (!tail.startsWith(OPENAI)) {
      return null;
    }
    String route = tail.substring(OPENAI.length());
    for (OpenAiCall.Route r : OpenAiCall.Route.values()) {
      if (r.path().equals(route)) {
        return new OpenAiCall(r, component);
      }
    }
    return null;
  }
}
