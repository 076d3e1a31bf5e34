package io.sagegate.provision.guard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The (calling role, model) pairs the guard approves, rendered into the Lambda's environment as
 * JSON: {@code [{"role": "arn:aws:iam::...:role/x", "models": ["fraud-model"]}]}. Role ARNs and
 * model names compare case-insensitively (IAM role names and SageMaker names are unique without
 * regard to case).
 */
public final class ApprovedPairs {

  /** The environment variable the guard Lambda reads. */
  public static final String ENV_VAR = "SAGEGATE_APPROVED_PAIRS";

  private static final ObjectMapper JSON = new ObjectMapper();
  private final Map<String, Set<String>> modelsByRole;

  /** Role ARN to the models it may deploy. */
  public ApprovedPairs(Map<String, ? extends java.util.Collection<String>> modelsByRole) {
    Map<String, Set<String>> m = new LinkedHashMap<>();
    modelsByRole.forEach((role, models) -> {
      if (role == null || role.isBlank()) {
        throw new IllegalArgumentException("role: must not be empty");
      }
      Set<String> set = m.computeIfAbsent(lower(role), k -> new TreeSet<>());
      models.forEach(model -> set.add(lower(model)));
    });
    this.modelsByRole = Map.copyOf(m);
  }

  public boolean approved(String roleArn, String model) {
    if (roleArn == null || model == null) {
      return false;
    }
    return modelsByRole.getOrDefault(lower(roleArn), Set.of()).contains(lower(model));
  }

  public Map<String, Set<String>> asMap() {
    return modelsByRole;
  }

  public String toJson() {
    List<Map<String, Object>> out = new ArrayList<>();
    new java.util.TreeMap<>(modelsByRole).forEach((role, models) -> {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("role", role);
      e.put("models", List.copyOf(models));
      out.add(e);
    });
    try {
      return JSON.writeValueAsString(out);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Parses the JSON form; a malformed value fails with a message naming the variable. */
  public static ApprovedPairs fromJson(String json) {
    if (json == null || json.isBlank()) {
      throw new IllegalArgumentException(ENV_VAR + ": not set");
    }
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(ENV_VAR + ": not JSON: " + e.getOriginalMessage());
    }
    if (!root.isArray()) {
      throw new IllegalArgumentException(ENV_VAR + ": must be a JSON array of {role, models}");
    }
    Map<String, List<String>> m = new LinkedHashMap<>();
    for (JsonNode e : root) {
      JsonNode role = e.get("role");
      JsonNode models = e.get("models");
      if (role == null || !role.isTextual() || models == null || !models.isArray()) {
        throw new IllegalArgumentException(ENV_VAR + ": every entry needs role (string) and models (array)");
      }
      List<String> list = m.computeIfAbsent(role.asText(), k -> new ArrayList<>());
      models.forEach(x -> list.add(x.asText()));
    }
    return new ApprovedPairs(m);
  }

  private static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }
}
