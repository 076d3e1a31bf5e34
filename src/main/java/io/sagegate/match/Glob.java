package io.sagegate.match;

import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * A rule pattern: {@code *} matches any run of characters, {@code ?} one character, everything else
 * itself. Compiled once, when the policy is built. Patterns with {@code ?} become a {@link
 * Pattern}; the common forms (a lone {@code *}, a literal, {@code team-*}, {@code *-prod}, {@code
 * a*b*c}) are matched piece by piece with {@link String#regionMatches}, which costs a fraction of a
 * regex match and allocates nothing (the policy benchmark showed regex matching dominating
 * decisions over large rule sets).
 */
public final class Glob {

  private final String pattern;
  private final boolean ignoreCase;
  private final boolean any;
  private final @Nullable Pattern regex;

  /** The literal pieces between stars, when the pattern has no {@code ?}; else none. */
  private final String[] pieces;

  private Glob(String pattern, boolean ignoreCase) {
    this.pattern = pattern;
    this.ignoreCase = ignoreCase;
    this.any = pattern.equals("*");
    boolean question = pattern.indexOf('?') >= 0;
    this.regex = question ? toRegex(pattern, ignoreCase) : null;
    this.pieces = question ? new String[0] : pattern.split("\\*", -1);
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
  public boolean matches(@Nullable String value) {
    if (value == null) {
      return false;
    }
    if (any) {
      return true;
    }
    if (regex != null) {
      return regex.matcher(value).matches();
    }
    if (pieces.length == 1) {
      return ignoreCase ? pattern.equalsIgnoreCase(value) : pattern.equals(value);
    }
    String first = pieces[0];
    String last = pieces[pieces.length - 1];
    int end = value.length() - last.length();
    if (end < first.length()
        || !value.regionMatches(ignoreCase, 0, first, 0, first.length())
        || !value.regionMatches(ignoreCase, end, last, 0, last.length())) {
      return false;
    }
    int pos = first.length();
    for (int i = 1; i < pieces.length - 1; i++) {
      pos = find(value, pieces[i], pos, end);
      if (pos < 0) {
        return false;
      }
    }
    return true;
  }

  /** The position just after the first occurrence of {@code piece} in value[from, end), or -1. */
  private int find(String value, String piece, int from, int end) {
    for (int at = from; at + piece.length() <= end; at++) {
      if (value.regionMatches(ignoreCase, at, piece, 0, piece.length())) {
        return at + piece.length();
      }
    }
    return -1;
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
