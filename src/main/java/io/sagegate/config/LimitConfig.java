package io.sagegate.config;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * One shared quota, declared beside the rules: whom it applies to (principal, resource, actions,
 * matched as a rule's are), the key it counts under (claim values, and the endpoint unless
 * {@code perEndpoint: false}), a rate of {@code rate} calls per {@code per} with bursts of up to
 * {@code burst} (GCRA, so no double burst at window edges), an optional {@code dailyQuota} (a UTC
 * calendar day), whether it refuses ({@code enforce}) or only counts and logs ({@code shadow}),
 * and what it does when the shared store cannot be reached ({@code onStoreError}).
 */
public record LimitConfig(
    String id,
    String description,
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
    OnStoreError onStoreError) {

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

  public LimitConfig {
    principal = principal == null ? RuleConfig.Principal.ANY : principal;
    resource = resource == null ? RuleConfig.Resource.ANY : resource;
    actions = actions == null ? List.of("*") : List.copyOf(actions);
    key = key == null ? List.of("subject") : List.copyOf(key);
    perEndpoint = perEndpoint == null ? Boolean.TRUE : perEndpoint;
    per = per == null ? Duration.ofSeconds(1) : per;
    burst = burst == 0 ? rate : burst;
    mode = mode == null ? Mode.ENFORCE : mode;
    onStoreError = onStoreError == null ? OnStoreError.OPEN : onStoreError;
  }

  /** The rule this limit matches like (principal, resource, actions), for the policy engine. */
  public RuleConfig asRule() {
    return new RuleConfig(id, RuleConfig.Effect.ALLOW, description, principal, resource, actions,
        null, null);
  }
}
