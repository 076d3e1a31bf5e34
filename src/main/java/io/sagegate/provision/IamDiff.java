package io.sagegate.provision;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Compares what the gateway's rules allow with what a template's IAM allows, per endpoint: which
 * invoke roles may call it per IAM (the template's invoke-role policies, evaluated statically)
 * against which allow rules grant it with that role ({@link InvokeGrants}). Also reports invoke
 * roles the rules name that the template does not create, other roles (personas) that can invoke an
 * endpoint directly, outside the gateway, and, where the template declares the SageMaker Runtime
 * VPC endpoint, invoke grants without the {@code aws:SourceVpce} condition.
 */
public final class IamDiff {

  private static final List<String> ACTIONS =
      List.of(InvokeGrants.INVOKE, InvokeGrants.INVOKE_ASYNC);

  private IamDiff() {}

  /** One line per difference; empty when IAM and the rules agree. */
  public static List<String> differences(
      JsonNode template, GatewayConfig config, String region, String account) {
    List<String> out = new ArrayList<>();
    InvokeGrants grants = new InvokeGrants(config);
    Map<String, JsonNode> iamRoles = invokeRolePolicies(template);
    for (String role : grants.roleArns().keySet()) {
      if (!iamRoles.containsKey(role)) {
        out.add(
            "invoke role " + role + ": named by the gateway rules, not created by the template");
      }
    }
    Set<String> defined = new java.util.TreeSet<>();
    config.endpoints().stream()
        .filter(e -> e.backend() != null && BackendConfig.SAGEMAKER.equals(e.backend().type()))
        .forEach(e -> defined.add(GatewayConfig.key(e.name())));
    String prefix = "arn:aws:sagemaker:" + region + ":" + account + ":endpoint/";
    for (Map.Entry<String, JsonNode> r : iamRoles.entrySet()) {
      boolean needsBearer = grants.bearerRoles().contains(r.getKey());
      boolean bearer =
          PolicyEvaluator.mayAllow(r.getValue(), InvokeGrants.CALL_WITH_BEARER_TOKEN, "*");
      if (needsBearer && !bearer) {
        out.add(
            "invoke role "
                + r.getKey()
                + ": serves an endpoint on the OpenAI-compatible path (backend.openai),"
                + " its IAM policy does not allow "
                + InvokeGrants.CALL_WITH_BEARER_TOKEN);
      } else if (bearer && !needsBearer) {
        out.add(
            "invoke role "
                + r.getKey()
                + ": IAM allows "
                + InvokeGrants.CALL_WITH_BEARER_TOKEN
                + ", no endpoint it may invoke is served on the OpenAI-compatible path");
      }
      for (JsonNode st : PolicyEvaluator.statements(r.getValue())) {
        for (String res : PolicyEvaluator.values(st.get("Resource"))) {
          if (!"Allow".equals(st.path("Effect").asText())) {
            continue;
          }
          if ("*".equals(res)
              && List.of(InvokeGrants.CALL_WITH_BEARER_TOKEN)
                  .equals(PolicyEvaluator.values(st.get("Action")))) {
            continue; // judged above: the action takes no resource but *
          }
          if (res.startsWith(prefix)
              && !res.contains("*")
              && !defined.contains(res.substring(prefix.length()))) {
            out.add(
                res.substring(prefix.length())
                    + ": IAM lets invoke role "
                    + r.getKey()
                    + " call it, the gateway configuration defines no such sagemaker endpoint");
          } else if (!res.startsWith(prefix) || res.contains("*")) {
            out.add(
                "invoke role "
                    + r.getKey()
                    + ": IAM allows "
                    + PolicyEvaluator.values(st.get("Action"))
                    + " on "
                    + res
                    + ", beyond the endpoints of "
                    + account
                    + "/"
                    + region);
          }
        }
      }
    }
    for (EndpointConfig e : config.endpoints()) {
      if (e.backend() == null || !BackendConfig.SAGEMAKER.equals(e.backend().type())) {
        continue;
      }
      String key = GatewayConfig.key(e.name());
      String arn = "arn:aws:sagemaker:" + region + ":" + account + ":endpoint/" + key;
      for (Map.Entry<String, JsonNode> r : iamRoles.entrySet()) {
        Set<String> ruled = grants.endpointsFor(r.getKey()).getOrDefault(key, Set.of());
        for (String action : ACTIONS) {
          boolean iam = PolicyEvaluator.mayAllow(r.getValue(), action, arn);
          boolean rules = ruled.contains(action);
          if (iam && !rules) {
            out.add(
                e.name()
                    + ": IAM lets invoke role "
                    + r.getKey()
                    + " call "
                    + action
                    + ", no allow rule grants it with that role");
          } else if (rules && !iam) {
            out.add(
                e.name()
                    + ": rules "
                    + ruleIds(grants, r.getKey(), key, action)
                    + " allow "
                    + action
                    + " with invoke role "
                    + r.getKey()
                    + ", its IAM policy does not");
          }
        }
      }
    }
    out.addAll(directInvokers(template, config, region, account));
    out.addAll(missingSourceVpce(template, iamRoles));
    return out;
  }

  /**
   * Roles other than the gateway's invoke roles that IAM lets invoke a configured endpoint: a
   * persona that can invoke directly steps around the gateway's rules and audit.
   */
  static List<String> directInvokers(
      JsonNode template, GatewayConfig config, String region, String account) {
    List<String> out = new ArrayList<>();
    Iterator<Map.Entry<String, JsonNode>> it = template.path("Resources").fields();
    while (it.hasNext()) {
      JsonNode r = it.next().getValue();
      String kind = r.path("Metadata").path(TemplateRenderer.ROLE_KIND).asText();
      if (!"AWS::IAM::Role".equals(r.path("Type").asText()) || "invoke".equals(kind)) {
        continue;
      }
      JsonNode doc = combined(r);
      for (EndpointConfig e : config.endpoints()) {
        if (e.backend() == null || !BackendConfig.SAGEMAKER.equals(e.backend().type())) {
          continue;
        }
        String arn =
            "arn:aws:sagemaker:"
                + region
                + ":"
                + account
                + ":endpoint/"
                + GatewayConfig.key(e.name());
        for (String action : ACTIONS) {
          if (PolicyEvaluator.mayAllow(doc, action, arn)) {
            out.add(
                e.name()
                    + ": "
                    + (kind.isEmpty() ? "role" : kind + " role")
                    + " "
                    + r.path("Properties").path("RoleName").asText()
                    + " can call "
                    + action
                    + " directly, outside the gateway's rules and audit");
          }
        }
      }
    }
    return out;
  }

  /**
   * Where the template declares the SageMaker Runtime VPC endpoint, every invoke grant must require
   * it.
   */
  static List<String> missingSourceVpce(JsonNode template, Map<String, JsonNode> invokeRoles) {
    List<String> out = new ArrayList<>();
    boolean declared = false;
    for (JsonNode r : template.path("Resources")) {
      declared |=
          "AWS::EC2::VPCEndpoint".equals(r.path("Type").asText())
              && r.path("Properties").path("ServiceName").asText().endsWith(".sagemaker.runtime");
    }
    if (!declared) {
      return out;
    }
    for (Map.Entry<String, JsonNode> r : invokeRoles.entrySet()) {
      for (JsonNode st : PolicyEvaluator.statements(r.getValue())) {
        boolean invoke =
            PolicyEvaluator.values(st.get("Action")).stream()
                .anyMatch(a -> a.startsWith("sagemaker:Invoke"));
        boolean vpce = false;
        for (JsonNode op : st.path("Condition")) {
          vpce |= op.has(PrivateEndpoint.SOURCE_VPCE);
        }
        if ("Allow".equals(st.path("Effect").asText()) && invoke && !vpce) {
          out.add(
              "invoke role "
                  + r.getKey()
                  + ": statement "
                  + st.path("Sid").asText("(no Sid)")
                  + " grants "
                  + PolicyEvaluator.values(st.get("Action"))
                  + " without an "
                  + PrivateEndpoint.SOURCE_VPCE
                  + " condition, though the template declares the SageMaker Runtime VPC endpoint");
        }
      }
    }
    return out;
  }

  private static JsonNode combined(JsonNode role) {
    com.fasterxml.jackson.databind.node.ObjectNode doc =
        com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
    com.fasterxml.jackson.databind.node.ArrayNode all = doc.putArray("Statement");
    for (JsonNode p : role.path("Properties").path("Policies")) {
      PolicyEvaluator.statements(p.path("PolicyDocument")).forEach(all::add);
    }
    return doc;
  }

  private static String ruleIds(InvokeGrants g, String role, String endpoint, String action) {
    return g.all().stream()
        .filter(
            x ->
                x.roleName().equals(role)
                    && x.endpoint().equals(endpoint)
                    && x.iamAction().equals(action))
        .findFirst()
        .map(x -> String.join(", ", x.ruleIds()))
        .orElse("?");
  }

  /** Invoke role name to its combined identity policy (all inline statements). */
  static Map<String, JsonNode> invokeRolePolicies(JsonNode template) {
    Map<String, JsonNode> out = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> it = template.path("Resources").fields();
    while (it.hasNext()) {
      JsonNode r = it.next().getValue();
      if (!"AWS::IAM::Role".equals(r.path("Type").asText())
          || !"invoke".equals(r.path("Metadata").path(TemplateRenderer.ROLE_KIND).asText())) {
        continue;
      }
      com.fasterxml.jackson.databind.node.ObjectNode doc =
          com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.objectNode();
      com.fasterxml.jackson.databind.node.ArrayNode all = doc.putArray("Statement");
      for (JsonNode p : r.path("Properties").path("Policies")) {
        PolicyEvaluator.statements(p.path("PolicyDocument")).forEach(all::add);
      }
      out.put(r.path("Properties").path("RoleName").asText(), doc);
    }
    return out;
  }
}
