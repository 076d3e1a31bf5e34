package io.sagegate.config;

import java.util.Map;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * One endpoint the gateway exposes: its SageMaker name (checked against SageMaker's pattern), its
 * tags (matched by rules) and the backend that serves it. {@code maxConcurrency} caps its calls in
 * flight in each replica (none when absent), adapting below that cap when {@code
 * adaptiveConcurrency} is true; {@code inferenceComponents} caps calls per inference component the
 * same way.
 */
public record EndpointConfig(
    String name,
    Map<String, String> tags,
    BackendConfig backend,
    @Nullable Integer maxConcurrency,
    Boolean adaptiveConcurrency,
    Map<String, ComponentLimits> inferenceComponents) {

  /**
   * SageMaker's endpoint name pattern (botocore's service model), as named in messages: the one
   * definition, read by {@code check} and by the gateway's path parsing.
   */
  public static final String NAME_PATTERN = "^[a-zA-Z0-9](-*[a-zA-Z0-9])*$";

  /** SageMaker's endpoint name length limit. */
  public static final int NAME_MAX = 63;

  /**
   * SageMaker's inference component name pattern (botocore's service model), at most {@value
   * #NAME_MAX} characters: the one definition, read by the header check and the OpenAI routes.
   */
  public static final Pattern COMPONENT_NAME =
      Pattern.compile("^[a-zA-Z0-9]([\\-a-zA-Z0-9]*[a-zA-Z0-9])?$");

  /** Absent tags, {@code adaptiveConcurrency} and inference components (null) take defaults. */
  public EndpointConfig(
      String name,
      @Nullable Map<String, String> tags,
      BackendConfig backend,
      @Nullable Integer maxConcurrency,
      @Nullable Boolean adaptiveConcurrency,
      @Nullable Map<String, ComponentLimits> inferenceComponents) {
    this.name = name;
    this.tags = tags == null ? Map.of() : Map.copyOf(tags);
    this.backend = backend;
    this.maxConcurrency = maxConcurrency;
    this.adaptiveConcurrency = adaptiveConcurrency == null ? Boolean.FALSE : adaptiveConcurrency;
    this.inferenceComponents =
        inferenceComponents == null ? Map.of() : Map.copyOf(inferenceComponents);
  }

  /** An endpoint without concurrency limits. */
  public EndpointConfig(String name, @Nullable Map<String, String> tags, BackendConfig backend) {
    this(name, tags, backend, null, null, null);
  }

  /** {@value #NAME_PATTERN} and at most {@value #NAME_MAX} characters. */
  public static boolean validName(@Nullable String name) {
    return name != null && name.length() <= NAME_MAX && matchesNamePattern(name);
  }

  /**
   * {@value #NAME_PATTERN}, checked by hand rather than with the regular expression: the gateway
   * checks it on every request, and a regex match was a visible share of that cost. ASCII letters,
   * digits and hyphens, starting and ending with a letter or digit.
   */
  public static boolean matchesNamePattern(String name) {
    int n = name.length();
    if (n == 0 || name.charAt(0) == '-' || name.charAt(n - 1) == '-') {
      return false;
    }
    for (int i = 0; i < n; i++) {
      char c = name.charAt(i);
      if (!((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-')) {
        return false;
      }
    }
    return true;
  }
}
