package io.sagegate.aws;

import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Maps a caller's subject to the STS {@code SourceIdentity} (and {@code RoleSessionName}), which
 * CloudTrail records for every call made under the session.
 *
 * <p>STS allows 2 to 64 characters of {@code [\w+=,.@-]} (ASCII). The mapping is chosen to be
 * <b>injective</b>, so that one caller can never end up with another caller's identity:
 *
 * <ul>
 *   <li>A subject that already fits (allowed characters, 2..64 long) and does not end in the digest
 *       suffix form {@code .} + 16 hex digits is used unchanged.
 *   <li>Any other subject is mapped to its allowed characters (others replaced by {@code -}), cut
 *       to 47 characters, followed by {@code .} and the first 16 hex digits (64 bits) of
 *       SHA-256(subject). So {@code a/b} becomes {@code a-b.<digest>} and never equals the
 *       unchanged {@code a-b}; two mapped subjects collide only if their SHA-256 digests share 64
 *       bits.
 * </ul>
 *
 * A subject that is missing, blank, or starts with {@code aws:} (reserved by AWS, compared
 * case-insensitively) is refused with 403: it is not silently rewritten.
 */
public final class SourceIdentity {

  public static final int MIN_LENGTH = 2;
  public static final int MAX_LENGTH = 64;
  static final int DIGEST_HEX = 16;
  private static final Pattern ALLOWED = Pattern.compile("[\\w+=,.@-]+");
  private static final Pattern ALLOWED_CHAR = Pattern.compile("[\\w+=,.@-]");
  private static final Pattern DIGEST_SUFFIX = Pattern.compile(".*\\.[0-9a-f]{" + DIGEST_HEX + "}");

  private SourceIdentity() {}

  /**
   * The SourceIdentity for {@code subject}.
   *
   * @throws GatewayException 403 AccessDeniedException when the subject cannot be used at all
   */
  public static String of(@Nullable String subject) {
    if (subject == null || subject.isBlank()) {
      throw refuse("the caller's token has no subject");
    }
    if (subject.toLowerCase(Locale.ROOT).startsWith("aws:")) {
      throw refuse("the subject starts with the reserved prefix aws:");
    }
    if (subject.length() >= MIN_LENGTH
        && subject.length() <= MAX_LENGTH
        && ALLOWED.matcher(subject).matches()
        && !DIGEST_SUFFIX.matcher(subject).matches()) {
      return subject;
    }
    StringBuilder kept = new StringBuilder();
    int limit = MAX_LENGTH - 1 - DIGEST_HEX;
    subject
        .codePoints()
        .limit(limit)
        .forEach(
            cp -> {
              String c = new String(Character.toChars(cp));
              kept.append(ALLOWED_CHAR.matcher(c).matches() ? c : "-");
            });
    return kept + "." + digest(subject);
  }

  private static String digest(String subject) {
    try {
      byte[] hash =
          MessageDigest.getInstance("SHA-256").digest(subject.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash).substring(0, DIGEST_HEX);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is not available", e);
    }
  }

  private static GatewayException refuse(String why) {
    return new GatewayException(
            403, Errors.ACCESS_DENIED, "Subject cannot be used as SourceIdentity: " + why)
        .withAuditReason("sts:invalid_source_identity");
  }
}
