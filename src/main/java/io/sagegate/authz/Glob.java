package io.sagegate.authz;

import java.util.regex.Pattern;

/**
 * A rule pattern: {@code *} matches any run of characters, {@code ?} one character, everything
 * else itself. Compiled once, when the policy is built: a lone {@code *} and patterns without
 * wildcards skip the regular expression altogether, since they are most of what rules hold.
 */
public final class Glob {

  private final String pattern;
  private final boolean ignoreCase;
  private final boolean any;
  private final Pattern regex;

  private Glob(String pattern, boolean ignoreCase) {
    this.pattern = pattern;
    this.ignoreCase = ignoreCase;
    this.any = pattern.equals("*");
    boolean literal = pattern.indexOf('*') < 0 && pattern.indexOf('?') < 0;
    this.regex = any || literal ? null : toRegex(pattern, ignoreCase);
  }

  /**
   * Compiles {@code pattern}.
   *
   * @throws IllegalArgumentException if the pattern is null or empty
   */
  public static Glob compile(String pattern, boolean ignoreCase) {
    if (pattern == null || pattern.isEmpty()) {
      throw new IllegalArgumentException("pattern: must not be empty");
    }
    return new Glob(pattern, ignoreCase);
  }

  /** Whether {@code value} matches; a {@code null} value never does. */
  public boolean matches(String value) {
    if (value == null) {
      return false;
    }
    if (any) {
      return true;
    }
    if (regex == null) {
      return ignoreCase ? pattern.equalsIgnoreCase(value) : pattern.equals(value);
    }
    return regex.matcher(value).matches();
  }

  public String pattern() {
    return pattern;
  }

  private static Pattern toRegex(String glob, boolean ignoreCase) {
    StringBuilder re = new StringBuilder(glob.length() + 8);
    StringBuilder literal = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' || c == '?') {
        if (literal.length() > 0) {
          re.append(Pattern.quote(literal.toString()));
          literal.setLength(0);
        }
        re.append(c == '*' ? ".*" : ".");
      } else {
        literal.append(c);
      }
    }
    if (literal.length() > 0) {
      re.append(Pattern.quote(literal.toString()));
    }
    int flags = Pattern.DOTALL | (ignoreCase ? Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE : 0);
    return Pattern.compile(re.toString(), flags);
  }

  @Override
  public String toString() {
    return pattern;
  }
}
