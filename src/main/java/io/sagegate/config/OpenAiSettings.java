package io.sagegate.config;

import org.jspecify.annotations.Nullable;

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
public record OpenAiSettings(@Nullable Boolean enabled, String path, Boolean includeUsage) {

  public static final String DEFAULT_PATH = "/v1/chat/completions";
  public static final OpenAiSettings DEFAULTS = new OpenAiSettings(null, null, null);

  /** An absent {@code path} or {@code includeUsage} (null) takes its default. */
  public OpenAiSettings(
      @Nullable Boolean enabled, @Nullable String path, @Nullable Boolean includeUsage) {
    this.enabled = enabled;
    this.path = path == null ? DEFAULT_PATH : path;
    this.includeUsage = includeUsage == null ? Boolean.TRUE : includeUsage;
    if (!this.path.startsWith("/")
        || this.path.contains("?")
        || this.path.contains("#")
        || this.path.contains("..")) {
      throw new IllegalArgumentException(
          "openai.path: '"
              + this.path
              + "' must be an absolute path without query or dot segments");
    }
  }
}
