package io.sagegate.config;

import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * One access rule, IAM-like: an effect, whom it applies to (principal), which endpoints (resource),
 * which actions, and optional conditions. Within a list any entry may match; across fields all
 * must. An absent field matches everything. Patterns are globs ({@code *}, {@code ?}). {@code
 * roleArn}, on an allow rule, names the IAM invoke role assumed for calls it allows (on the AWS
 * path); it takes precedence over the endpoint backend's own roleArn.
 */
public record RuleConfig(
    String id,
    Effect effect,
    @Nullable String description,
    Principal principal,
    Resource resource,
    List<String> actions,
    Conditions conditions,
    @Nullable String roleArn) {

  /**
   * The action names rules are written with (besides {@code *}): the one list {@link
   * io.sagegate.authz.Action} is built on and {@link ConfigValidator} checks against.
   */
  public static final String INVOKE = "invoke";

  public static final String INVOKE_STREAM = "invoke-stream";
  public static final String INVOKE_ASYNC = "invoke-async";
  public static final List<String> ACTIONS = List.of(INVOKE, INVOKE_STREAM, INVOKE_ASYNC);

  public enum Effect {
    ALLOW,
    DENY
  }

  /** An absent principal, resource, actions or conditions (null) matches everything. */
  public RuleConfig(
      String id,
      Effect effect,
      @Nullable String description,
      @Nullable Principal principal,
      @Nullable Resource resource,
      @Nullable List<String> actions,
      @Nullable Conditions conditions,
      @Nullable String roleArn) {
    this.id = id;
    this.effect = effect;
    this.description = description;
    this.principal = principal == null ? Principal.ANY : principal;
    this.resource = resource == null ? Resource.ANY : resource;
    this.actions = actions == null ? List.of("*") : List.copyOf(actions);
    this.conditions = conditions == null ? Conditions.NONE : conditions;
    this.roleArn = roleArn;
  }

  /** Claim patterns; {@code claims} matches any claim by name (dotted for nested). */
  public record Principal(
      List<String> subjects,
      List<String> groups,
      List<String> scopes,
      List<String> tenants,
      Map<String, List<String>> claims) {
    public static final Principal ANY = new Principal(null, null, null, null, null);

    /** An absent list or map (null) is empty. */
    public Principal(
        @Nullable List<String> subjects,
        @Nullable List<String> groups,
        @Nullable List<String> scopes,
        @Nullable List<String> tenants,
        @Nullable Map<String, List<String>> claims) {
      this.subjects = subjects == null ? List.of() : List.copyOf(subjects);
      this.groups = groups == null ? List.of() : List.copyOf(groups);
      this.scopes = scopes == null ? List.of() : List.copyOf(scopes);
      this.tenants = tenants == null ? List.of() : List.copyOf(tenants);
      this.claims = claims == null ? Map.of() : Map.copyOf(claims);
    }
  }

  /** Endpoint name globs and endpoint tag patterns. */
  public record Resource(List<String> endpoints, Map<String, List<String>> tags) {
    public static final Resource ANY = new Resource(null, null);

    /** An absent list or map (null) is empty. */
    public Resource(@Nullable List<String> endpoints, @Nullable Map<String, List<String>> tags) {
      this.endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
      this.tags = tags == null ? Map.of() : Map.copyOf(tags);
    }
  }

  /**
   * Further conditions on the request. For a target list, the request must name one of the listed
   * values (a request that names none does not meet the condition). {@code inputLocations} are S3
   * prefixes an async input location must fall under.
   */
  public record Conditions(
      List<String> sourceCidrs,
      List<String> targetVariants,
      List<String> targetModels,
      List<String> inferenceComponents,
      List<String> inputLocations) {
    public static final Conditions NONE = new Conditions(null, null, null, null, null);

    /** An absent list (null) is empty. */
    public Conditions(
        @Nullable List<String> sourceCidrs,
        @Nullable List<String> targetVariants,
        @Nullable List<String> targetModels,
        @Nullable List<String> inferenceComponents,
        @Nullable List<String> inputLocations) {
      this.sourceCidrs = sourceCidrs == null ? List.of() : List.copyOf(sourceCidrs);
      this.targetVariants = targetVariants == null ? List.of() : List.copyOf(targetVariants);
      this.targetModels = targetModels == null ? List.of() : List.copyOf(targetModels);
      this.inferenceComponents =
          inferenceComponents == null ? List.of() : List.copyOf(inferenceComponents);
      this.inputLocations = inputLocations == null ? List.of() : List.copyOf(inputLocations);
    }
  }
}
