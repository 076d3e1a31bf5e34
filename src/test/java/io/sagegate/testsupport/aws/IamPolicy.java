package io.sagegate.testsupport.aws;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A parsed IAM policy document and a minimal evaluator for it: statements with {@code Effect}
 * Allow/Deny, {@code Action} and {@code Resource} as a string or a list, {@code *} and {@code ?}
 * wildcards (actions case-insensitive, resources case-sensitive). Anything the evaluator does not
 * understand ({@code NotAction}, {@code NotResource}, {@code Condition}, {@code Principal}) is
 * refused as malformed rather than silently ignored, so a test never passes on a policy the
 * emulator misread.
 */
public final class IamPolicy {

  /** Result of evaluating one policy for one request. */
  public enum Decision {
    ALLOW,
    EXPLICIT_DENY,
    NO_MATCH
  }

  /** The policy document does not parse or uses something the evaluator cannot judge. */
  public static final class MalformedPolicyException extends Exception {
    public MalformedPolicyException(String message) {
      super(message);
    }
  }

  private record Statement(boolean allow, List<Pattern> actions, List<Pattern> resources) {}

  private static final ObjectMapper JSON = new ObjectMapper();

  private final String text;
  private final List<Statement> statements;

  private IamPolicy(String text, List<Statement> statements) {
    this.text = text;
    this.statements = statements;
  }

  /** The policy document exactly as given. */
  public String text() {
    return text;
  }

  /** A policy with one Allow statement for {@code actions} on {@code resources}. */
  public static IamPolicy allow(List<String> actions, List<String> resources) {
    try {
      String json =
          JSON.writeValueAsString(
              java.util.Map.of(
                  "Version",
                  "2012-10-17",
                  "Statement",
                  List.of(
                      java.util.Map.of(
                          "Effect", "Allow", "Action", actions, "Resource", resources))));
      return parse(json);
    } catch (JsonProcessingException | MalformedPolicyException e) {
      throw new IllegalArgumentException("cannot build policy: " + e.getMessage(), e);
    }
  }

  public static IamPolicy parse(String text) throws MalformedPolicyException {
    JsonNode root;
    try {
      root = JSON.readTree(text);
    } catch (JsonProcessingException e) {
      throw new MalformedPolicyException("Syntax errors in policy.");
    }
    if (root == null || !root.isObject()) {
      throw new MalformedPolicyException("Policy document must be a JSON object.");
    }
    JsonNode st = root.get("Statement");
    if (st == null) {
      throw new MalformedPolicyException("Policy document must contain Statement.");
    }
    List<Statement> out = new ArrayList<>();
    if (st.isArray()) {
      for (JsonNode s : st) {
        out.add(statement(s));
      }
    } else {
      out.add(statement(st));
    }
    return new IamPolicy(text, List.copyOf(out));
  }

  private static Statement statement(JsonNode s) throws MalformedPolicyException {
    if (!s.isObject()) {
      throw new MalformedPolicyException("Statement must be an object.");
    }
    for (String unsupported :
        List.of("NotAction", "NotResource", "Condition", "Principal", "NotPrincipal")) {
      if (s.has(unsupported)) {
        throw new MalformedPolicyException(
            "Statement element "
                + unsupported
                + " is not supported by the emulator's policy evaluator.");
      }
    }
    String effect = s.path("Effect").asText("");
    if (!effect.equals("Allow") && !effect.equals("Deny")) {
      throw new MalformedPolicyException(
          "Statement Effect must be Allow or Deny, was '" + effect + "'.");
    }
    return new Statement(
        effect.equals("Allow"), patterns(s, "Action", true), patterns(s, "Resource", false));
  }

  private static List<Pattern> patterns(JsonNode s, String field, boolean ignoreCase)
      throws MalformedPolicyException {
    JsonNode v = s.get(field);
    List<String> values = new ArrayList<>();
    if (v != null && v.isTextual()) {
      values.add(v.asText());
    } else if (v != null && v.isArray() && !v.isEmpty()) {
      for (JsonNode e : v) {
        if (!e.isTextual()) {
          throw new MalformedPolicyException(field + " entries must be strings.");
        }
        values.add(e.asText());
      }
    } else {
      throw new MalformedPolicyException(
          "Statement must have " + field + " as a string or a non-empty list.");
    }
    List<Pattern> out = new ArrayList<>();
    for (String value : values) {
      if (ignoreCase && !value.equals("*") && !value.contains(":")) {
        throw new MalformedPolicyException("Action '" + value + "' must be service:action.");
      }
      out.add(glob(value, ignoreCase));
    }
    return out;
  }

  static Pattern glob(String glob, boolean ignoreCase) {
    StringBuilder re = new StringBuilder();
    for (char c : glob.toCharArray()) {
      switch (c) {
        case '*' -> re.append(".*");
        case '?' -> re.append('.');
        default -> re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(re.toString(), ignoreCase ? Pattern.CASE_INSENSITIVE : 0);
  }

  /** Explicit deny wins over allow; no matching statement is {@link Decision#NO_MATCH}. */
  public Decision evaluate(String action, String resource) {
    boolean allowed = false;
    for (Statement s : statements) {
      boolean matches =
          s.actions().stream().anyMatch(p -> p.matcher(action).matches())
              && s.resources().stream().anyMatch(p -> p.matcher(resource).matches());
      if (matches && !s.allow()) {
        return Decision.EXPLICIT_DENY;
      }
      allowed |= matches;
    }
    return allowed ? Decision.ALLOW : Decision.NO_MATCH;
  }

  @Override
  public String toString() {
    return text;
  }
}
