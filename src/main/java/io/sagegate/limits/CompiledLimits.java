package io.sagegate.limits;

import io.sagegate.authz.AccessRequest;
import io.sagegate.authz.PolicyEngine;
import io.sagegate.config.LimitConfig;
import io.sagegate.config.RuleConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The configured limits of one configuration snapshot, matched like rules (principal, resource,
 * actions, through the same policy engine, so the matching is IAM-like in exactly the same way):
 * every limit that matches a call applies to it.
 */
public final class CompiledLimits {

  public static final CompiledLimits NONE = new CompiledLimits(List.of());

  private final List<LimitConfig> configs;
  private final PolicyEngine engine;
  private final Map<String, Quota> byId = new HashMap<>();

  /** Whether any limit counts tokens (so only then must a call that is not chat filter them). */
  private final boolean countsTokens;

  public CompiledLimits(List<LimitConfig> limits) {
    this.configs = limits;
    List<RuleConfig> rules = new ArrayList<>(limits.size());
    for (LimitConfig l : limits) {
      rules.add(l.asRule());
      byId.put(l.id(), new Quota(l));
    }
    this.engine = new PolicyEngine(rules);
    this.countsTokens = byId.values().stream().anyMatch(Quota::countsTokens);
  }

  List<LimitConfig> configs() {
    return configs;
  }

  public boolean isEmpty() {
    return byId.isEmpty();
  }

  /** Whether any of the limits counts tokens rather than calls. */
  public boolean countsTokens() {
    return countsTokens;
  }

  /** The limits that apply to {@code request}, in file order. */
  public List<Quota> matching(AccessRequest request) {
    if (byId.isEmpty()) {
      return List.of();
    }
    List<RuleConfig> matched = engine.matching(request);
    if (matched.isEmpty()) {
      return List.of();
    }
    List<Quota> out = new ArrayList<>(matched.size());
    for (RuleConfig r : matched) {
      out.add(byId.get(r.id()));
    }
    return out;
  }
}
