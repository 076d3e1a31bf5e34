package io.sagegate.provision;

import static io.sagegate.provision.Cfn.ordered;

import io.sagegate.provision.ProvisionSpec.Environment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What every part of one environment's template shares: the spec, the environment, its ARNs, the
 * stack's name, the SageMaker resources and their names, and the way roles and tags are written.
 */
final class StackContext {

  final ProvisionSpec spec;
  final String env;
  final Environment e;
  final Arns arns;
  final String stack;
  final SageMakerResources sageMaker;

  StackContext(ProvisionSpec spec, String env) {
    this.spec = spec;
    this.env = env;
    this.e = spec.environment(env);
    this.arns = new Arns(e.region(), e.account());
    this.stack = spec.stackName() + "-" + env;
    this.sageMaker = new SageMakerResources(this);
  }

  /**
   * The name of a role the stack creates: {@code <stack>-<suffix>}, at most IAM's 64 characters.
   */
  String roleName(String suffix) {
    String name = stack + "-" + suffix;
    if (name.length() > 64) {
      throw new IllegalArgumentException(
          "role name '"
              + name
              + "' is longer than IAM's 64 characters: shorten stackName or the name");
    }
    return name;
  }

  /** The environment's tags, then {@code extra}, then {@code env}. */
  List<Object> tags(Map<String, String> extra) {
    Map<String, String> all = new TreeMap<>(e.tags());
    all.putAll(extra);
    all.put("env", env);
    List<Object> out = new ArrayList<>();
    all.forEach((k, v) -> out.add(ordered("Key", k, "Value", v)));
    return out;
  }

  static List<Object> policies(List<Map<String, Object>> statements) {
    if (statements.isEmpty()) {
      return List.of();
    }
    return List.of(
        ordered(
            "PolicyName", "sagegate-least-privilege", "PolicyDocument", Iam.document(statements)));
  }

  Map<String, Object> role(
      String kind,
      String name,
      Map<String, Object> trust,
      List<Object> policies,
      List<String> managed,
      List<String> dependsOn) {
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("RoleName", name);
    props.put("AssumeRolePolicyDocument", trust);
    if (!policies.isEmpty()) {
      props.put("Policies", policies);
    }
    if (!managed.isEmpty()) {
      props.put("ManagedPolicyArns", managed);
    }
    props.put("Tags", tags(Map.of()));
    Map<String, Object> r = Cfn.resource("AWS::IAM::Role", props);
    r.put("Metadata", ordered(TemplateRenderer.ROLE_KIND, kind));
    if (!dependsOn.isEmpty()) {
      r.put("DependsOn", dependsOn);
    }
    return r;
  }
}
