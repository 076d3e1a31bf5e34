package io.sagegate.aws;

import io.sagegate.auth.Caller;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import software.amazon.awssdk.services.sts.model.Tag;

/**
 * The STS session tags of a caller: for each configured tag key, the value of the claim it is read
 * from. Keys are checked once, at construction (a bad key is a configuration error); values per
 * caller. A value STS would refuse is refused here with 403 and a message naming the tag, rather
 * than silently dropped (a dropped tag would widen what ABAC policies let the session do). A claim
 * the token does not carry yields no tag. Tags are kept sorted by key so that the same caller
 * always yields the same list (they are part of the credentials cache key).
 */
public final class SessionTags {

  public static final int MAX_TAGS = 50;
  public static final int MAX_KEY_LENGTH = 128;
  public static final int MAX_VALUE_LENGTH = 256;
  private static final Pattern CHARS = Pattern.compile("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*");

  private final Map<String, String> tagToClaim;

  /** The claim names of {@link #tagToClaim}'s values, in its (key) order. */
  private final String[] claimNames;

  /**
   * @param tagToClaim session tag key to claim name (dotted for nested claims)
   * @throws IllegalArgumentException naming aws.sessionTags when a key breaks STS's limits
   */
  public SessionTags(Map<String, String> tagToClaim) {
    if (tagToClaim.size() > MAX_TAGS) {
      throw new IllegalArgumentException(
          "aws.sessionTags: "
              + tagToClaim.size()
              + " tags configured, STS allows at most "
              + MAX_TAGS);
    }
    for (Map.Entry<String, String> e : tagToClaim.entrySet()) {
      String key = e.getKey();
      if (key == null
          || key.isEmpty()
          || key.length() > MAX_KEY_LENGTH
          || !CHARS.matcher(key).matches()) {
        throw new IllegalArgumentException(
            "aws.sessionTags: tag key '"
                + key
                + "' must be 1 to 128 characters of letters, digits, spaces and _.:/=+-@");
      }
      if (key.regionMatches(true, 0, "aws:", 0, 4)) {
        throw new IllegalArgumentException(
            "aws.sessionTags: tag key '" + key + "' uses the reserved prefix aws:");
      }
      if (e.getValue() == null || e.getValue().isBlank()) {
        throw new IllegalArgumentException(
            "aws.sessionTags." + key + ": the claim name is missing");
      }
    }
    this.tagToClaim = new TreeMap<>(tagToClaim);
    this.claimNames = this.tagToClaim.values().toArray(new String[0]);
  }

  /**
   * The raw claim values the tags of {@link #of} are made from, one per configured tag in key order
   * (null where the claim is absent). Callers whose lists are equal get equal tags (or the same
   * refusal): the credentials cache keys its hit path on this list, which is cheap to build,
   * instead of validating and building the tags per request.
   */
  public List<Object> claimValues(Map<String, Object> claims) {
    if (claimNames.length == 0) {
      return List.of();
    }
    Object[] values = new Object[claimNames.length];
    for (int i = 0; i < values.length; i++) {
      values[i] = Caller.claim(claims, claimNames[i]);
    }
    return Arrays.asList(values);
  }

  /**
   * The tags for a caller, sorted by key.
   *
   * @throws GatewayException 403 AccessDeniedException naming the tag whose claim value STS cannot
   *     take
   */
  public List<Tag> of(Map<String, Object> claims) {
    List<Tag> tags = new ArrayList<>();
    for (Map.Entry<String, String> e : tagToClaim.entrySet()) {
      Object raw = Caller.claim(claims, e.getValue());
      if (raw == null) {
        continue;
      }
      if (raw instanceof Map || (raw instanceof Collection<?> c && c.size() != 1)) {
        throw refuse(e.getKey(), "claim " + e.getValue() + " is not a single value");
      }
      String value = Caller.values(raw).stream().findFirst().orElse(null);
      if (value == null) {
        throw refuse(e.getKey(), "claim " + e.getValue() + " is not a single value");
      }
      if (value.length() > MAX_VALUE_LENGTH) {
        throw refuse(
            e.getKey(),
            "claim " + e.getValue() + " is longer than " + MAX_VALUE_LENGTH + " characters");
      }
      if (!CHARS.matcher(value).matches()) {
        throw refuse(
            e.getKey(),
            "claim "
                + e.getValue()
                + " holds characters STS does not allow in a tag value (letters, digits, spaces and _.:/=+-@ only)");
      }
      tags.add(Tag.builder().key(e.getKey()).value(value).build());
    }
    return List.copyOf(tags);
  }

  private static GatewayException refuse(String tag, String why) {
    return new GatewayException(
            403,
            Errors.ACCESS_DENIED,
            "Caller's claims cannot be used as session tag " + tag + ": " + why)
        .withAuditReason("sts:invalid_session_tag");
  }
}
