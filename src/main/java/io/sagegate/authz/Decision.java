package io.sagegate.authz;

import io.sagegate.config.RuleConfig;
import org.jspecify.annotations.Nullable;

/**
 * The answer to an access request, as a value: allowed or denied, with the rule that decided it. A
 * denial with no rule is the implicit default deny. Only an engine that cannot run throws.
 */
public record Decision(boolean allowed, @Nullable RuleConfig rule, String reason) {

  public static final String DEFAULT_DENY = "default-deny";

  /**
   * The rule id audited (and explained) for a request to an endpoint that is not configured: it is
   * denied before any rule is looked at.
   */
  public static final String UNKNOWN_ENDPOINT = "unknown-endpoint";

  /**
   * The rule id audited (and explained) for an async call the rules allow but whose input location
   * lies outside the endpoint's {@code asyncInputPrefixes} ({@link InputLocations}).
   */
  public static final String INPUT_LOCATION_NOT_ALLOWED = "endpoint-input-prefixes";

  public static Decision allow(RuleConfig rule) {
    return new Decision(true, rule, "allowed by rule " + rule.id());
  }

  public static Decision explicitDeny(RuleConfig rule) {
    return new Decision(false, rule, "explicitly denied by rule " + rule.id());
  }

  private static final String INPUT_LOCATION_REASON =
      "the input location is not under one of the endpoint's asyncInputPrefixes";

  public static Decision inputLocationNotAllowed() {
    return new Decision(false, null, INPUT_LOCATION_REASON);
  }

  public static Decision defaultDeny() {
    return new Decision(false, null, "no rule allows this request");
  }

  /**
   * The id of the deciding rule, or {@value #DEFAULT_DENY} (or {@value
   * #INPUT_LOCATION_NOT_ALLOWED}).
   */
  public String ruleId() {
    if (rule != null) {
      return rule.id();
    }
    return INPUT_LOCATION_REASON.equals(reason) ? INPUT_LOCATION_NOT_ALLOWED : DEFAULT_DENY;
  }
}
