package io.sagegate.provision;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CloudFormation template building blocks as plain maps, in the order given, so rendering the same
 * spec twice gives the same bytes: resources, intrinsic functions, outputs, logical ids.
 */
final class Cfn {

  private Cfn() {}

  /** Map.of, in the order given. */
  static Map<String, Object> ordered(Object... keysAndValues) {
    Map<String, Object> m = new LinkedHashMap<>();
    for (int i = 0; i < keysAndValues.length; i += 2) {
      m.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    return m;
  }

  static Map<String, Object> resource(String type, Map<String, Object> props) {
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("Type", type);
    r.put("Properties", props);
    return r;
  }

  static Map<String, Object> getAtt(String logicalId, String attribute) {
    return ordered("Fn::GetAtt", List.of(logicalId, attribute));
  }

  static Map<String, Object> ref(String logicalId) {
    return ordered("Ref", logicalId);
  }

  static Map<String, Object> output(Object value, String description) {
    Map<String, Object> o = new LinkedHashMap<>();
    o.put("Description", description);
    o.put("Value", value);
    return o;
  }

  /** A CloudFormation logical id: alphanumeric, from a prefix and a hyphenated name. */
  static String id(String prefix, String name) {
    StringBuilder b = new StringBuilder(prefix);
    boolean upper = true;
    for (char c : name.toCharArray()) {
      if (Character.isLetterOrDigit(c) && c < 128) {
        b.append(upper ? Character.toUpperCase(c) : c);
        upper = false;
      } else {
        upper = true;
      }
    }
    return b.toString();
  }
}
