package io.sagegate.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/**
 * One shared quota, declared beside the rules: whom it applies to (principal, resource, actions,
 * matched as a rule's are), the key it counts under (claim values, and the endpoint unless {@code
 * perEndpoint: false}), a rate of {@code rate} calls per {@code per} with bursts of up to {@code
 * burst} (GCRA, so no double burst at window edges), an optional {@code dailyQuota} (a UTC calendar
 * day), whether it refuses ({@code enforce}) or only counts and logs ({@code shadow}), and what it
 * does when the shared store cannot be reached ({@code onStoreError}).
 */
public record LimitConfig(
    String id,
    @Nullable String description,
    RuleConfig.Principal principal,
    RuleConfig.Resource resource,
    List<String> actions,
    List<String> key,
    Boolean perEndpoint,
    long rate,
    Duration per,
    long burst,
    long dailyQuota,
    Mode mode,
    OnStoreError onStoreError,
    Unit unit,
    TokenEstimate estimate) {

  /**
   * What a limit counts: {@code calls} (the default), or {@code tokens} on the OpenAI-compatible
   * chat route (rate, burst and dailyQuota are then tokens; other calls are not counted by it).
   */
  public enum Unit {
    CALLS,
    TOKENS;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * How a {@code tokens} limit estimates a call before it is made: the request body's bytes divided
   * by {@code bytesPerToken} (default 4) for the prompt, plus the request's {@code
   * max_completion_tokens} or {@code max_tokens}, or {@code completionTokens} (default 256) when it
   * sets neither. The real {@code usage} is charged once the answer is in.
   */
  public record TokenEstimate(Integer bytesPerToken, Long completionTokens) {
    public static final TokenEstimate DEFAULT = new TokenEstimate(null, null);

    /** An absent value (null) takes its default. */
    public TokenEstimate(@Nullable Integer bytesPerToken, @Nullable Long completionTokens) {
      this.bytesPerToken = bytesPerToken == null ? 4 : bytesPerToken;
      this.completionTokens = completionTokens == null ? 256 : completionTokens;
    }
  }

  /** {@code enforce} refuses calls over the limit; {@code shadow} counts and logs them only. */
  public enum Mode {
    ENFORCE,
    SHADOW;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /**
   * With the store unreachable: {@code open} allows (the default), {@code closed} answers 503,
   * {@code local} enforces the limit divided by {@code admission.store.replicas} in each replica.
   */
  public enum OnStoreError {
    OPEN,
    CLOSED,
    LOCAL;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** Absent values (null) take their defaults; a {@code burst} of 0 is the rate. */
  public LimitConfig(
      String id,
      @Nullable String description,
      RuleConfig.@Nullable Principal principal,
      RuleConfig.@Nullable Resource resource,
      @Nullable List<String> actions,
      @Nullable List<String> key,
      @Nullable Boolean perEndpoint,
      long rate,
      @Nullable Duration per,
      long burst,
      long dailyQuota,
      @Nullable Mode mode,
      @Nullable OnStoreError onStoreError,
      @Nullable Unit unit,
      @Nullable TokenEstimate estimate) {
    this.id = id;
    this.description = description;
    this.principal = principal == null ? RuleConfig.Principal.ANY : principal;
    this.resource = resource == null ? RuleConfig.Resource.ANY : resource;
    this.actions = actions == null ? List.of("*") : List.copyOf(actions);
    this.key = key == null ? List.of("subject") : List.copyOf(key);
    this.perEndpoint = perEndpoint == null ? Boolean.TRUE : perEndpoint;
    this.rate = rate;
    this.per = per == null ? Duration.ofSeconds(1) : per;
    this.burst = burst == 0 ? rate : burst;
    this.dailyQuota = dailyQuota;
    this.mode = mode == null ? Mode.ENFORCE : mode;
    this.onStoreError = onStoreError == null ? OnStoreError.OPEN : onStoreError;
    this.unit = unit == null ? Unit.CALLS : unit;
    this.estimate = estimate == null ? TokenEstimate.DEFAULT : estimate;
  }

  public boolean countsTokens() {
    return unit == Unit.TOKENS;
  }

  /** The rule this limit matches like (principal, resource, actions), for the policy engine. */
  public RuleConfig asRule() {
    return new RuleConfig(
        id, RuleConfig.Effect.ALLOW, description, principal, resource, actions, null, null);
  }
}
