package io.sagegate.authz;

import io.sagegate.config.RuleConfig;

/**
 * The answer to an access request, as a value: allowed or denied, with the rule that decided it.
 * A denial with no rule is the implicit default deny. Only an engine that cannot run throws.
 */
public record Decision(boolean allowed, RuleConfig rule, String reason) {

  public static final String DEFAULT_DENY = "default-deny";

  /**
   * The rule id audited (and explained) for a request to an endpoint that is not configured: it
   * is denied before any rule is looked at.
   */
  public static final String UNKNOWN_ENDPOINT = "unknown-endpoint";

  public static Decision allow(RuleConfig rule) {
    return new Decision(true, rule, "allowed by rule " + rule.id());
  }

  public static Decision explicitDeny(RuleConfig rule) {
    return new Decision(false, rule, "explicitly denied by rule " + rule.id());
  }

  public static Decision defaultDeny() {
    return new Decision(false, null, "no rule allows this request");
  }

  /** The id of the deciding rule, or {@value #DEFAULT_DENY}. */
  public String ruleId() {
    return rule == null ? DEFAULT_DENY : rule.id();
  }
}
