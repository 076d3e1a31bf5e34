package io.sagegate.openai;

import org.jspecify.annotations.Nullable;

/**
 * A call on the OpenAI-compatible routes ({@code /endpoints/{EndpointName}[/inference-components/
 * {ComponentName}]/openai/v1/...}): which route, the inference component named in the path (or
 * null), and what the gateway learnt from the body. Set by OperationResolver, completed by
 * OpenAiBody, read by the backend; lives on the request's event loop.
 */
public final class OpenAiCall {

  /** The two routes sagegate serves. */
  public enum Route {
    /** {@code POST .../openai/v1/chat/completions}. */
    CHAT_COMPLETIONS("chat/completions"),
    /** {@code GET .../openai/v1/models}, answered from sagegate's own configuration. */
    MODELS("models");

    private final String path;

    Route(String path) {
      this.path = path;
    }

    /** The route's path after {@code openai/v1/}. */
    public String path() {
      return path;
    }
  }

  private final Route route;
  private final @Nullable String component;
  private boolean stream;
  private boolean usageAdded;
  private @Nullable String model;
  private long maxTokens = -1;

  public OpenAiCall(Route route, @Nullable String component) {
    this.route = route;
    this.component = component;
  }

  public Route route() {
    return route;
  }

  /** The inference component named in the path, or null for the endpoint form. */
  public @Nullable String component() {
    return component;
  }

  /** Whether the body asked for a stream ({@code "stream": true}). */
  public boolean stream() {
    return stream;
  }

  /**
   * Whether the gateway itself asked upstream for {@code stream_options.include_usage}, so the
   * usage-only chunk it brings is metered and then dropped from what the client sees.
   */
  public boolean usageAdded() {
    return usageAdded;
  }

  /** The body's {@code model}, as the client wrote it (forwarded unchanged); null when absent. */
  public @Nullable String model() {
    return model;
  }

  /**
   * The request's {@code max_completion_tokens}, else its {@code max_tokens}, or -1 when it sets
   * neither (a token limit's estimate then takes its own default).
   */
  public long maxTokens() {
    return maxTokens;
  }

  public void maxTokens(long maxTokens) {
    this.maxTokens = maxTokens;
  }

  public void body(boolean stream, boolean usageAdded, @Nullable String model) {
    this.stream = stream;
    this.usageAdded = usageAdded;
    this.model = model;
  }

  /** The path after the endpoint name, as AWS spells it; for the audit record and messages. */
  public String path() {
    return (component == null ? "" : "inference-components/" + component + "/")
        + "openai/v1/"
        + route.path();
  }
}
