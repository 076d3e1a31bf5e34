package io.sagegate.provision;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagegate.match.Glob;
import java.util.ArrayList;
import java.util.List;

/**
 * Static evaluation of an IAM identity policy document for one action on one resource: an explicit
 * Deny wins, otherwise any matching Allow allows. A statement with a Condition counts as allowing
 * (conditions only narrow at run time), so the answer is "may allow" — the safe side for finding
 * grants the rules do not make. Hand-written: no maintained Java library evaluates IAM policies
 * offline; action matching is case-insensitive and resource matching case-sensitive, as in IAM.
 */
public final class PolicyEvaluator {

  private PolicyEvaluator() {}

  public static boolean mayAllow(JsonNode document, String action, String resource) {
    boolean allowed = false;
    for (JsonNode st : statements(document)) {
      if (!matches(st, "Action", "NotAction", action, true)
          || !matches(st, "Resource", "NotResource", resource, false)) {
        continue;
      }
      if ("Deny".equals(st.path("Effect").asText()) && !st.has("Condition")) {
        return false;
      }
      if ("Allow".equals(st.path("Effect").asText())) {
        allowed = true;
      }
    }
    return allowed;
  }

  static List<JsonNode> statements(JsonNode document) {
    JsonNode s = document.path("Statement");
    List<JsonNode> out = new ArrayList<>();
    if (s.isArray()) {
      s.forEach(out::add);
    } else if (s.isObject()) {
      out.add(s);
    }
    return out;
  }

  static List<String> values(JsonNode node) {
    List<String> out = new ArrayList<>();
    if (node == null || node.isMissingNode() || node.isNull()) {
      return out;
    }
    if (node.isArray()) {
      node.forEach(n -> out.add(n.asText()));
    } else {
      out.add(node.asText());
    }
    return out;
  }

  private static boolean matches(
      JsonNode st, String field, String notField, String value, boolean ignoreCase) {
    if (st.has(field)) {
      return values(st.get(field)).stream()
          .anyMatch(p -> Glob.compile(p, ignoreCase).matches(value));
    }
    if (st.has(notField)) {
      return values(st.get(notField)).stream()
          .noneMatch(p -> Glob.compile(p, ignoreCase).matches(value));
    }
    return false;
  }
}
