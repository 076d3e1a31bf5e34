package io.sagegate.config;

/**
 * How an endpoint serves the OpenAI-compatible routes ({@code backend.openai}).
 *
 * <ul>
 *   <li>{@code enabled}: whether it does; default yes for {@code container} and {@code demo}
 *       backends, no for {@code sagemaker} (opting in adds {@code sagemaker:CallWithBearerToken} to
 *       the endpoint's sessions and invoke role).
 *   <li>{@code path}: where a container serves chat completions (default {@value #DEFAULT_PATH}, as
 *       vLLM and SGLang do), under the backend URL's own path.
 *   <li>{@code includeUsage}: for a stream whose client did not ask for usage, ask upstream for
 *       {@code stream_options.include_usage} so the call's tokens are metered, and drop that extra
 *       usage chunk from what the client sees (default true).
 * </ul>
 */
public record OpenAiSettings(Boolean enabled, String path, Boolean includeUsage) {

  public static final String DEFAULT_PATH = "/v1/chat/completions";
  public static final OpenAiSettings DEFAULTS = new OpenAiSettings(null, null, null);

  public OpenAiSettings {
    path = path == null ? DEFAULT_PATH : path;
    includeUsage = includeUsage == null ? Boolean.TRUE : includeUsage;
    if (!path.startsWith("/") || path.contains("?") || path.contains("#") || path.contains("..")) {
      throw new IllegalArgumentException(
          "openai.path: '" + path + "' must be an absolute path without query or dot segments");
    }
  }
}
