package io.sagegate.auth;

import io.sagegate.config.ClaimMapping;
import java.time.Instant;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * The authenticated caller: who (subject, issuer), which token (jti, expiry) and the claims the
 * rules match on. Built from verified claims through the configured {@link ClaimMapping}.
 */
public record Caller(
    @Nullable String subject,
    @Nullable String issuer,
    @Nullable String tokenId,
    Set<String> groups,
    Set<String> scopes,
    @Nullable String tenant,
    Map<String, Object> claims,
    @Nullable Instant expiresAt) {

  public Caller {
    groups = groups == null ? Set.of() : Set.copyOf(groups);
    scopes = scopes == null ? Set.of() : Set.copyOf(scopes);
    claims = claims == null ? Map.of() : withoutNulls(claims);
  }

  /**
   * The claims without null-valued ones (a claim set to null is a claim not sent; the verified
   * claims the gateway maps already leave them out, and Map.copyOf refuses them).
   */
  private static Map<String, Object> withoutNulls(Map<String, Object> claims) {
    // Not containsValue(null): immutable maps throw on a null query.
    boolean nulls = false;
    for (Object v : claims.values()) {
      nulls |= v == null;
    }
    if (!nulls) {
      return Map.copyOf(claims);
    }
    Map<String, Object> out = new java.util.HashMap<>(claims);
    out.values().removeIf(java.util.Objects::isNull);
    return Map.copyOf(out);
  }

  /**
   * Maps verified claims to a caller. Groups and scopes accept a JSON array; a string is one group
   * (group names may hold spaces: {@code "Domain Admins"} is not the group {@code Admins}), while a
   * scope string is space-separated ({@code scope: "a b"}, RFC 6749 section 3.3).
   */
  public static Caller fromClaims(Map<String, Object> claims, ClaimMapping mapping) {
    Object exp = claims.get("exp");
    Instant expiresAt = null;
    if (exp instanceof Number n) {
      expiresAt = Instant.ofEpochSecond(n.longValue());
    } else if (exp instanceof java.util.Date d) {
      expiresAt = d.toInstant();
    }
    return new Caller(
        asString(claim(claims, mapping.subject())),
        asString(claims.get("iss")),
        asString(claims.get("jti")),
        new LinkedHashSet<>(values(claim(claims, mapping.groups()))),
        scopeSet(claim(claims, mapping.scopes())),
        asString(claim(claims, mapping.tenant())),
        claims,
        expiresAt);
  }

  /**
   * A claim by name; a name not present whole is followed as a dotted path into nested objects
   * ({@code realm_access.roles}).
   */
  public static @Nullable Object claim(Map<String, ?> claims, @Nullable String name) {
    if (name == null) {
      return null;
    }
    if (claims.containsKey(name)) {
      return claims.get(name);
    }
    Object current = claims;
    for (String part : name.split("\\.")) {
      if (!(current instanceof Map<?, ?> map)) {
        return null;
      }
      current = map.get(part);
    }
    return current;
  }

  /** Claim values as strings: a string, a number, a boolean, or each element of an array. */
  public static List<String> values(@Nullable Object value) {
    if (value == null) {
      return List.of();
    }
    if (value instanceof Collection<?> c) {
      return c.stream()
          .filter(v -> v != null && !(v instanceof Map) && !(v instanceof Collection))
          .map(String::valueOf)
          .toList();
    }
    if (value instanceof Map) {
      return List.of();
    }
    return List.of(String.valueOf(value));
  }

  private static @Nullable String asString(@Nullable Object value) {
    return value == null || value instanceof Map || value instanceof Collection
        ? null
        : String.valueOf(value);
  }

  private static Set<String> scopeSet(@Nullable Object value) {
    if (value instanceof String s) {
      Set<String> out = new LinkedHashSet<>();
      for (String part : s.trim().split("\\s+")) {
        if (!part.isEmpty()) {
          out.add(part);
        }
      }
      return out;
    }
    return new LinkedHashSet<>(values(value));
  }
}
