package io.sagegate.config;

import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * How an endpoint is served.
 *
 * <ul>
 *   <li>{@code container}: a model container speaking the SageMaker container contract at {@code
 *       url} ({@code GET /ping}, {@code POST /invocations}).
 *   <li>{@code demo}: a container backend pointed at the built-in demo model server, which the
 *       gateway starts itself.
 *   <li>{@code sagemaker}: SageMaker Runtime, under scoped STS credentials (the AWS path): {@code
 *       roleArn} is the invoke role to assume (a rule's own roleArn takes precedence), {@code
 *       asyncInputPrefixes} the S3 prefixes an async input location must fall under.
 * </ul>
 *
 * Timeouts default to SageMaker's: 60 s for the model's answer. {@code variant} names the
 * production variant a container backend reports (default AllTraffic). {@code openai} says how the
 * endpoint serves the OpenAI-compatible routes ({@link OpenAiSettings}).
 */
public record BackendConfig(
    String type,
    @Nullable String url,
    Duration connectTimeout,
    Duration timeout,
    int maxConnections,
    String variant,
    @Nullable String roleArn,
    List<String> asyncInputPrefixes,
    OpenAiSettings openai) {

  public static final String CONTAINER = "container";
  public static final String DEMO = "demo";
  public static final String SAGEMAKER = "sagemaker";

  /** Absent values (null) take their defaults, as does a {@code maxConnections} of 0 or less. */
  public BackendConfig(
      @Nullable String type,
      @Nullable String url,
      @Nullable Duration connectTimeout,
      @Nullable Duration timeout,
      int maxConnections,
      @Nullable String variant,
      @Nullable String roleArn,
      @Nullable List<String> asyncInputPrefixes,
      @Nullable OpenAiSettings openai) {
    this.type = type == null ? CONTAINER : type;
    this.url = url;
    this.connectTimeout = connectTimeout == null ? Duration.ofSeconds(5) : connectTimeout;
    this.timeout = timeout == null ? Duration.ofSeconds(60) : timeout;
    this.maxConnections = maxConnections <= 0 ? 200 : maxConnections;
    this.variant = variant == null ? "AllTraffic" : variant;
    this.roleArn = roleArn;
    this.asyncInputPrefixes =
        asyncInputPrefixes == null ? List.of() : List.copyOf(asyncInputPrefixes);
    this.openai = openai == null ? OpenAiSettings.DEFAULTS : openai;
  }

  /** Without OpenAI settings (the defaults apply). */
  public BackendConfig(
      @Nullable String type,
      @Nullable String url,
      @Nullable Duration connectTimeout,
      @Nullable Duration timeout,
      int maxConnections,
      @Nullable String variant,
      @Nullable String roleArn,
      @Nullable List<String> asyncInputPrefixes) {
    this(
        type,
        url,
        connectTimeout,
        timeout,
        maxConnections,
        variant,
        roleArn,
        asyncInputPrefixes,
        null);
  }

  /**
   * Whether the endpoint is served on the OpenAI-compatible routes: as configured, else yes for
   * container and demo backends, and no for {@code sagemaker} ones, whose sessions and invoke roles
   * then also need {@code sagemaker:CallWithBearerToken}, so it is opted into.
   */
  public boolean openaiEnabled() {
    Boolean enabled = openai.enabled();
    return enabled != null ? enabled : !SAGEMAKER.equals(type);
  }
}
