package io.sagegate.provision;

import io.sagegate.authz.Action;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.match.Glob;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the gateway's rules allow each invoke role to do, derived from the gateway configuration
 * alone (the one source of truth): for every allow rule, the role it names (its own roleArn, else
 * the endpoint backend's), every configured sagemaker endpoint its resource (name globs, tag
 * patterns) can match, and the IAM actions behind its rule actions. A deny rule that applies to
 * everyone, unconditionally, removes what it denies; any other deny only narrows per caller and
 * never widens anything, so it is ignored here. Matching follows the PolicyEngine's: endpoint globs
 * case-insensitive, tag patterns case-sensitive.
 */
public final class InvokeGrants {

  /** One grant: an invoke role may call an IAM action on an endpoint, because of these rules. */
  public record Grant(String roleName, String endpoint, String iamAction, Set<String> ruleIds) {}

  /** Role name to endpoint (lower case) to IAM action to rule ids. */
  private final Map<String, Map<String, Map<String, Set<String>>>> grants = new TreeMap<>();

  private final Map<String, String> roleArns = new TreeMap<>();

  /** Roles granted InvokeEndpoint on an endpoint served on the OpenAI-compatible path. */
  private final Set<String> bearerRoles = new TreeSet<>();

  public static final String INVOKE = "sagemaker:InvokeEndpoint";
  public static final String INVOKE_ASYNC = "sagemaker:InvokeEndpointAsync";

  /**
   * What SageMaker's OpenAI-compatible path needs besides InvokeEndpoint; its only resource is
   * {@code *}.
   */
  public static final String CALL_WITH_BEARER_TOKEN = "sagemaker:CallWithBearerToken";

  public InvokeGrants(GatewayConfig config) {
    List<EndpointConfig> sagemaker =
        config.endpoints().stream()
            .filter(e -> e.backend() != null && BackendConfig.SAGEMAKER.equals(e.backend().type()))
            .toList();
    for (RuleConfig rule : config.rules()) {
      if (rule.effect() != RuleConfig.Effect.ALLOW) {
        continue;
      }
      for (EndpointConfig e : sagemaker) {
        String roleArn = rule.roleArn() != null ? rule.roleArn() : e.backend().roleArn();
        if (roleArn == null || !resourceMatches(rule, e)) {
          continue;
        }
        for (Action a : actions(rule)) {
          if (deniedForEveryone(config.rules(), e, a)) {
            continue;
          }
          String role = roleName(roleArn);
          roleArns.putIfAbsent(role, roleArn);
          grants
              .computeIfAbsent(role, k -> new TreeMap<>())
              .computeIfAbsent(GatewayConfig.key(e.name()), k -> new TreeMap<>())
              .computeIfAbsent(iamAction(a), k -> new TreeSet<>())
              .add(rule.id());
          if (a != Action.INVOKE_ASYNC && e.backend().openaiEnabled()) {
            bearerRoles.add(role);
          }
        }
      }
    }
    // Roles named by rules that match nothing still exist (with no grant) so they are visible.
    for (RuleConfig rule : config.rules()) {
      if (rule.effect() == RuleConfig.Effect.ALLOW && rule.roleArn() != null) {
        roleArns.putIfAbsent(roleName(rule.roleArn()), rule.roleArn());
        grants.computeIfAbsent(roleName(rule.roleArn()), k -> new TreeMap<>());
      }
    }
    for (EndpointConfig e : sagemaker) {
      if (e.backend().roleArn() != null) {
        roleArns.putIfAbsent(roleName(e.backend().roleArn()), e.backend().roleArn());
        grants.computeIfAbsent(roleName(e.backend().roleArn()), k -> new TreeMap<>());
      }
    }
  }

  /** Invoke role names to the ARN the gateway configuration gives them. */
  public Map<String, String> roleArns() {
    return roleArns;
  }

  /**
   * The roles that also need {@value #CALL_WITH_BEARER_TOKEN}: those granted InvokeEndpoint on an
   * endpoint with {@code backend.openai.enabled}.
   */
  public Set<String> bearerRoles() {
    return bearerRoles;
  }

  /** Endpoint (lower case) to IAM actions, for one role. */
  public Map<String, Set<String>> endpointsFor(String roleName) {
    Map<String, Set<String>> out = new TreeMap<>();
    grants
        .getOrDefault(roleName, Map.of())
        .forEach((ep, actions) -> out.put(ep, new TreeSet<>(actions.keySet())));
    return out;
  }

  public List<Grant> all() {
    List<Grant> out = new ArrayList<>();
    grants.forEach(
        (role, eps) ->
            eps.forEach(
                (ep, actions) ->
                    actions.forEach(
                        (action, rules) -> out.add(new Grant(role, ep, action, rules)))));
    return out;
  }

  /** The IAM action SageMaker checks: the response stream is authorized as InvokeEndpoint. */
  public static String iamAction(Action a) {
    return a == Action.INVOKE_ASYNC ? INVOKE_ASYNC : INVOKE;
  }

  /** The last path segment of a role ARN: the role name. */
  public static String roleName(String roleArn) {
    int slash = roleArn.lastIndexOf('/');
    return slash < 0 ? roleArn : roleArn.substring(slash + 1);
  }

  static Set<Action> actions(RuleConfig rule) {
    Set<Action> out = EnumSet.noneOf(Action.class);
    for (String a : rule.actions()) {
      if ("*".equals(a)) {
        return EnumSet.allOf(Action.class);
      }
      Action.fromRuleName(a).ifPresent(out::add);
    }
    return out;
  }

  static boolean resourceMatches(RuleConfig rule, EndpointConfig e) {
    List<String> names = rule.resource().endpoints();
    if (!names.isEmpty()
        && names.stream().noneMatch(g -> Glob.compile(g, true).matches(e.name()))) {
      return false;
    }
    for (Map.Entry<String, List<String>> tag : rule.resource().tags().entrySet()) {
      String value = e.tags().get(tag.getKey());
      if (tag.getValue().stream().noneMatch(g -> Glob.compile(g, false).matches(value))) {
        return false;
      }
    }
    return true;
  }

  /** A deny rule with no principal and no condition denies this endpoint and action to all. */
  private static boolean deniedForEveryone(List<RuleConfig> rules, EndpointConfig e, Action a) {
    for (RuleConfig r : rules) {
      if (r.effect() == RuleConfig.Effect.DENY
          && r.principal().equals(RuleConfig.Principal.ANY)
          && r.conditions().equals(RuleConfig.Conditions.NONE)
          && resourceMatches(r, e)
          && actions(r).contains(a)) {
        return true;
      }
    }
    return false;
  }
}
