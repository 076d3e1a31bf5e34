package io.sagegate.authz;

import io.sagegate.auth.Caller;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.match.Cidr;
import io.sagegate.match.Glob;
import io.sagegate.match.S3Location;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Decides access requests against the configured rules, IAM-like: a rule matches when its
 * principal, resource, actions and conditions all match; any matching deny wins (the first in file
 * order is named); otherwise the first matching allow decides; otherwise the request is denied by
 * default.
 *
 * <p>Immutable and thread-safe: patterns and networks are compiled once, here, so that a decision
 * is a loop over precompiled rules. A reload builds a new engine. Every condition, an async call's
 * S3 input location included, is part of whether a rule matches: a rule whose condition does not
 * hold does not match, so it neither denies nor allows.
 */
public final class PolicyEngine {

  /** How one rule fared against a request: {@code failedOn} is null when it matched. */
  public record RuleMatch(RuleConfig rule, @Nullable String failedOn) {
    public boolean matched() {
      return failedOn == null;
    }
  }

  private static final Decision DEFAULT_DENY = Decision.defaultDeny();

  private final List<RuleConfig> rules;
  private final Compiled[] all;
  private final Compiled[] denies;
  private final Compiled[] allows;
  private final boolean needsSourceIp;

  /**
   * Compiles {@code rules}.
   *
   * @throws IllegalArgumentException naming the rule and field if a rule has no effect, an unknown
   *     action, an empty pattern or a malformed CIDR (a validated config has none)
   */
  public PolicyEngine(List<RuleConfig> rules) {
    this.rules = List.copyOf(rules);
    this.all = new Compiled[this.rules.size()];
    List<Compiled> d = new ArrayList<>();
    List<Compiled> a = new ArrayList<>();
    boolean ip = false;
    for (int i = 0; i < all.length; i++) {
      Compiled c = new Compiled(this.rules.get(i), i);
      all[i] = c;
      (c.rule.effect() == RuleConfig.Effect.DENY ? d : a).add(c);
      ip |= c.cidrs.length > 0;
    }
    this.denies = d.toArray(new Compiled[0]);
    this.allows = a.toArray(new Compiled[0]);
    this.needsSourceIp = ip;
  }

  /** The decision for {@code request}, naming the deciding rule. */
  public Decision decide(AccessRequest request) {
    byte[] ip = needsSourceIp ? Cidr.parseAddress(request.sourceIp()) : null;
    for (Compiled c : denies) {
      if (c.mismatch(request, ip) == null) {
        return c.decision;
      }
    }
    for (Compiled c : allows) {
      if (c.mismatch(request, ip) == null) {
        return c.decision;
      }
    }
    return DEFAULT_DENY;
  }

  /** Every rule that matches {@code request}, in file order. */
  public List<RuleConfig> matching(AccessRequest request) {
    byte[] ip = needsSourceIp ? Cidr.parseAddress(request.sourceIp()) : null;
    List<RuleConfig> out = new ArrayList<>();
    for (Compiled c : all) {
      if (c.mismatch(request, ip) == null) {
        out.add(c.rule);
      }
    }
    return out;
  }

  /**
   * Each rule in file order with the first part of it that did not match {@code request} (e.g.
   * {@code principal.groups}), for the policy simulator.
   */
  public List<RuleMatch> evaluate(AccessRequest request) {
    byte[] ip = needsSourceIp ? Cidr.parseAddress(request.sourceIp()) : null;
    List<RuleMatch> out = new ArrayList<>(all.length);
    for (Compiled c : all) {
      out.add(new RuleMatch(c.rule, c.mismatch(request, ip)));
    }
    return out;
  }

  public List<RuleConfig> rules() {
    return rules;
  }

  /** One rule, compiled. Arrays rather than lists keep the per-request loop allocation-free. */
  private static final class Compiled {
    private static final Glob[] NONE = new Glob[0];

    final RuleConfig rule;

    /** The decision this rule makes, built once: deciding allocates nothing. */
    final Decision decision;

    final Glob[] subjects;
    final Glob[] groups;
    final Glob[] scopes;
    final Glob[] tenants;
    final String[] claimNames;
    final String[][] claimPaths;
    final Glob[][] claimPatterns;
    final Glob[] endpoints;
    final String[] tagKeys;
    final Glob[][] tagPatterns;
    final boolean anyAction;
    final boolean[] actions = new boolean[Action.values().length];
    final Cidr[] cidrs;
    final Glob[] variants;
    final Glob[] models;
    final Glob[] components;

    /**
     * {@code conditions.inputLocations}: S3 prefixes, parsed here once rather than on every request
     * (an unparseable one matches nothing); null when the rule has none.
     */
    final S3Location @Nullable [] inputLocations;

    Compiled(RuleConfig rule, int index) {
      this.rule = rule;
      String p = "rules[" + index + "] (" + rule.id() + ")";
      if (rule.effect() == null) {
        throw new IllegalArgumentException(p + ".effect: required");
      }
      decision =
          rule.effect() == RuleConfig.Effect.DENY
              ? Decision.explicitDeny(rule)
              : Decision.allow(rule);
      RuleConfig.Principal pr = rule.principal();
      subjects = globs(p + ".principal.subjects", pr.subjects(), false);
      groups = globs(p + ".principal.groups", pr.groups(), false);
      scopes = globs(p + ".principal.scopes", pr.scopes(), false);
      tenants = globs(p + ".principal.tenants", pr.tenants(), false);
      claimNames = pr.claims().keySet().toArray(new String[0]);
      claimPatterns = new Glob[claimNames.length][];
      claimPaths = new String[claimNames.length][];
      for (int i = 0; i < claimNames.length; i++) {
        claimPaths[i] = claimNames[i].split("\\.");
        claimPatterns[i] =
            globs(p + ".principal.claims." + claimNames[i], pr.claims().get(claimNames[i]), false);
      }
      endpoints = globs(p + ".resource.endpoints", rule.resource().endpoints(), true);
      tagKeys = rule.resource().tags().keySet().toArray(new String[0]);
      tagPatterns = new Glob[tagKeys.length][];
      for (int i = 0; i < tagKeys.length; i++) {
        tagPatterns[i] =
            globs(
                p + ".resource.tags." + tagKeys[i], rule.resource().tags().get(tagKeys[i]), false);
      }
      boolean any = false;
      for (String a : rule.actions()) {
        if ("*".equals(a)) {
          any = true;
        } else {
          Action action =
              Action.fromRuleName(a)
                  .orElseThrow(
                      () ->
                          new IllegalArgumentException(
                              p
                                  + ".actions: '"
                                  + a
                                  + "' is not one of invoke, invoke-stream, invoke-async, *"));
          actions[action.ordinal()] = true;
        }
      }
      anyAction = any;
      RuleConfig.Conditions c = rule.conditions();
      cidrs = new Cidr[c.sourceCidrs().size()];
      for (int i = 0; i < cidrs.length; i++) {
        try {
          cidrs[i] = Cidr.parse(c.sourceCidrs().get(i));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              p + ".conditions.sourceCidrs[" + i + "]: " + e.getMessage(), e);
        }
      }
      variants = globs(p + ".conditions.targetVariants", c.targetVariants(), false);
      models = globs(p + ".conditions.targetModels", c.targetModels(), false);
      components = globs(p + ".conditions.inferenceComponents", c.inferenceComponents(), false);
      inputLocations =
          c.inputLocations().isEmpty() ? null : S3Location.parseAll(c.inputLocations());
    }

    /** Null when the rule matches, else the first part that does not. */
    @Nullable String mismatch(AccessRequest r, byte @Nullable [] ip) {
      Caller caller = r.caller();
      if (subjects.length > 0 && (caller == null || !any(subjects, caller.subject()))) {
        return "principal.subjects";
      }
      if (groups.length > 0 && (caller == null || !anyOf(groups, caller.groups()))) {
        return "principal.groups";
      }
      if (scopes.length > 0 && (caller == null || !anyOf(scopes, caller.scopes()))) {
        return "principal.scopes";
      }
      if (tenants.length > 0 && (caller == null || !any(tenants, caller.tenant()))) {
        return "principal.tenants";
      }
      for (int i = 0; i < claimNames.length; i++) {
        if (caller == null
            || !anyValue(claimPatterns[i], claim(caller.claims(), claimNames[i], claimPaths[i]))) {
          return "principal.claims." + claimNames[i];
        }
      }
      EndpointConfig endpoint = r.endpoint();
      if (endpoints.length > 0 && (endpoint == null || !any(endpoints, endpoint.name()))) {
        return "resource.endpoints";
      }
      for (int i = 0; i < tagKeys.length; i++) {
        if (endpoint == null || !any(tagPatterns[i], tag(endpoint.tags(), tagKeys[i]))) {
          return "resource.tags." + tagKeys[i];
        }
      }
      if (!anyAction && (r.action() == null || !actions[r.action().ordinal()])) {
        return "actions";
      }
      if (cidrs.length > 0 && !inAny(cidrs, ip)) {
        return "conditions.sourceCidrs";
      }
      if (variants.length > 0 && !any(variants, r.targetVariant())) {
        return "conditions.targetVariants";
      }
      if (models.length > 0 && !any(models, r.targetModel())) {
        return "conditions.targetModels";
      }
      if (components.length > 0 && !any(components, r.inferenceComponent())) {
        return "conditions.inferenceComponents";
      }
      // A request with no input location (a synchronous call) does not meet the condition, as
      // a request that names no variant does not meet targetVariants.
      if (inputLocations != null && !S3Location.isUnderAny(r.inputLocation(), inputLocations)) {
        return "conditions.inputLocations";
      }
      return null;
    }

    /**
     * {@link Caller#claim} with the dotted path split once, at construction: the whole name first,
     * then the path into nested objects.
     */
    private static @Nullable Object claim(Map<String, Object> claims, String name, String[] path) {
      Object whole = claims.get(name);
      if (whole != null || path.length == 1) {
        return whole;
      }
      Object current = claims;
      for (String part : path) {
        if (!(current instanceof Map<?, ?> map)) {
          return null;
        }
        current = map.get(part);
      }
      return current;
    }

    /** Whether any value of a claim (as {@link Caller#values} reads it) matches. */
    private static boolean anyValue(Glob[] patterns, @Nullable Object value) {
      if (value == null || value instanceof Map) {
        return false;
      }
      if (value instanceof Collection<?> c) {
        for (Object v : c) {
          if (v != null
              && !(v instanceof Map)
              && !(v instanceof Collection)
              && any(patterns, String.valueOf(v))) {
            return true;
          }
        }
        return false;
      }
      return any(patterns, String.valueOf(value));
    }

    private static @Nullable String tag(@Nullable Map<String, String> tags, String key) {
      return tags == null ? null : tags.get(key);
    }

    private static boolean any(Glob[] patterns, @Nullable String value) {
      if (value == null) {
        return false;
      }
      for (Glob g : patterns) {
        if (g.matches(value)) {
          return true;
        }
      }
      return false;
    }

    private static boolean anyOf(Glob[] patterns, Collection<String> values) {
      for (String v : values) {
        if (any(patterns, v)) {
          return true;
        }
      }
      return false;
    }

    private static boolean inAny(Cidr[] networks, byte @Nullable [] ip) {
      if (ip == null) {
        return false;
      }
      for (Cidr c : networks) {
        if (c.contains(ip)) {
          return true;
        }
      }
      return false;
    }

    private static Glob[] globs(String field, @Nullable List<String> patterns, boolean ignoreCase) {
      if (patterns == null || patterns.isEmpty()) {
        return NONE;
      }
      Glob[] out = new Glob[patterns.size()];
      for (int i = 0; i < out.length; i++) {
        String pattern = patterns.get(i);
        if (pattern == null || pattern.isEmpty()) {
          throw new IllegalArgumentException(field + "[" + i + "]: a pattern must not be empty");
        }
        out[i] = Glob.compile(pattern, ignoreCase);
      }
      return out;
    }
  }
}
