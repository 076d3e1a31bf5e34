package io.sagegate.provision;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Small builders for IAM policy documents as plain maps, which Jackson writes as IAM JSON. A
 * builder rather than a library: the AWS SDK has no IAM policy model for identity policies with
 * conditions that we could serialize into a template, and the shape is tiny.
 */
final class Iam {

  static final String VERSION = "2012-10-17";

  private Iam() {}

  static Map<String, Object> document(List<Map<String, Object>> statements) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("Version", VERSION);
    doc.put("Statement", List.copyOf(statements));
    return doc;
  }

  /** An Allow statement on resources. */
  static Stmt allow(String sid, List<String> actions, List<String> resources) {
    return new Stmt(sid, "Allow", actions, resources);
  }

  /** A statement under construction. */
  static final class Stmt {
    private final Map<String, Object> m = new LinkedHashMap<>();
    private final Map<String, Map<String, Object>> conditions = new LinkedHashMap<>();

    Stmt(String sid, String effect, List<String> actions, @Nullable List<String> resources) {
      m.put("Sid", sid);
      m.put("Effect", effect);
      m.put("Action", List.copyOf(actions));
      if (resources != null) {
        m.put("Resource", List.copyOf(resources));
      }
    }

    Stmt principal(String type, Object value) {
      Map<String, Object> principal = new LinkedHashMap<>();
      principal.put(type, value);
      m.put("Principal", principal);
      return this;
    }

    Stmt when(String operator, String key, Object value) {
      conditions.computeIfAbsent(operator, k -> new LinkedHashMap<>()).put(key, value);
      return this;
    }

    Map<String, Object> build() {
      Map<String, Object> out = new LinkedHashMap<>(m);
      if (!conditions.isEmpty()) {
        out.put("Condition", conditions);
      }
      return out;
    }
  }

  static List<Map<String, Object>> list(Stmt... statements) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Stmt s : statements) {
      out.add(s.build());
    }
    return out;
  }
}
