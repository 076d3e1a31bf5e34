package io.sagegate.provision.guard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * What the guard approves: for each calling role, the (model, image) pairs it may deploy. A model
 * name alone is not enough: a model recreated under an approved name with another image is not
 * approved. Rendered into the Lambda's environment as JSON: {@code [{"role":
 * "arn:aws:iam::...:role/x", "models": [{"name": "fraud-model-1a2b3c4d", "image": "...:1.4.2"}]}]}.
 * Role ARNs and model names compare case-insensitively (IAM role names and SageMaker names are
 * unique without regard to case); images compare exactly.
 */
public final class ApprovedPairs {

  /** The environment variable the guard Lambda reads. */
  public static final String ENV_VAR = "SAGEGATE_APPROVED_PAIRS";

  /** A model the spec deploys, and the image it runs. */
  public record Model(String name, String image) {
    public Model {
      if (name == null || name.isBlank() || image == null || image.isBlank()) {
        throw new IllegalArgumentException(ENV_VAR + ": every model needs name and image");
      }
      name = lower(name);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private final Map<String, Set<Model>> modelsByRole;

  /** Role ARN to the (model, image) pairs it may deploy. */
  public ApprovedPairs(Map<String, ? extends Collection<Model>> modelsByRole) {
    Map<String, Set<Model>> m = new LinkedHashMap<>();
    modelsByRole.forEach(
        (role, models) -> {
          if (role == null || role.isBlank()) {
            throw new IllegalArgumentException("role: must not be empty");
          }
          m.computeIfAbsent(lower(role), k -> new java.util.LinkedHashSet<>()).addAll(models);
        });
    this.modelsByRole = Map.copyOf(m);
  }

  /** Whether {@code roleArn} may deploy model {@code model} running {@code image}. */
  public boolean approved(String roleArn, String model, String image) {
    if (roleArn == null || model == null || image == null) {
      return false;
    }
    return modelsByRole.getOrDefault(lower(roleArn), Set.of()).contains(new Model(model, image));
  }

  /** Whether {@code roleArn} may deploy some image under the model name (the first check). */
  public boolean approvesName(String roleArn, String model) {
    if (roleArn == null || model == null) {
      return false;
    }
    return modelsByRole.getOrDefault(lower(roleArn), Set.of()).stream()
        .anyMatch(x -> x.name().equals(lower(model)));
  }

  public Map<String, Set<Model>> asMap() {
    return modelsByRole;
  }

  public String toJson() {
    List<Map<String, Object>> out = new ArrayList<>();
    new TreeMap<>(modelsByRole)
        .forEach(
            (role, models) -> {
              Map<String, Object> e = new LinkedHashMap<>();
              e.put("role", role);
              List<Map<String, String>> list = new ArrayList<>();
              models.stream()
                  .sorted(java.util.Comparator.comparing(Model::name).thenComparing(Model::image))
                  .forEach(
                      x -> {
                        Map<String, String> mm = new LinkedHashMap<>();
                        mm.put("name", x.name());
                        mm.put("image", x.image());
                        list.add(mm);
                      });
              e.put("models", list);
              out.add(e);
            });
    try {
      return JSON.writeValueAsString(out);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Parses the JSON form; a malformed value fails with a message naming the variable. */
  public static ApprovedPairs fromJson(@Nullable String json) {
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
    Map<String, List<Model>> m = new LinkedHashMap<>();
    for (JsonNode e : root) {
      JsonNode role = e.get("role");
      JsonNode models = e.get("models");
      if (role == null || !role.isTextual() || models == null || !models.isArray()) {
        throw new IllegalArgumentException(
            ENV_VAR + ": every entry needs role (string) and models (array)");
      }
      List<Model> list = m.computeIfAbsent(role.asText(), k -> new ArrayList<>());
      for (JsonNode x : models) {
        if (!x.path("name").isTextual() || !x.path("image").isTextual()) {
          throw new IllegalArgumentException(
              ENV_VAR + ": every model needs name and image (strings)");
        }
        list.add(new Model(x.path("name").asText(), x.path("image").asText()));
      }
    }
    return new ApprovedPairs(m);
  }

  private static String lower(String s) {
    return s.toLowerCase(Locale.ROOT);
  }
}
