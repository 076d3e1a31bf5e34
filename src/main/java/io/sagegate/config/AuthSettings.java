package io.sagegate.config;

import java.time.Duration;
import java.util.List;
import java.util.Set;

/**
 * How bearer tokens are verified. Exactly one key source: {@code discoveryUrl} (OIDC discovery),
 * {@code jwksUri}, {@code staticJwksFile} (air-gapped sites) or {@code devIssuer} (the local
 * development issuer, whose key lives outside the repository).
 */
public record AuthSettings(
    String issuer,
    List<String> audiences,
    String discoveryUrl,
    String jwksUri,
    String staticJwksFile,
    boolean devIssuer,
    List<String> algorithms,
    Duration leeway,
    int maxTokenBytes,
    Duration keyRefreshInterval,
    Duration minKeyRefreshInterval,
    int tokenCacheSize,
    ClaimMapping claims) {

  public static final String DEV_ISSUER = "sagegate-dev";
  public static final String DEV_AUDIENCE = "sagegate";

  /**
   * The JWT signature algorithms that may be configured: asymmetric only, never {@code none} or
   * HMAC (an HMAC "verified" with a public key is the key-confusion hole). The one allow-list: both
   * {@code check} and the authenticator read it.
   */
  public static final Set<String> ALGORITHMS =
      Set.of(
          "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA");

  /**
   * Why {@code name} may not be configured, naming the allowed ones; null when it is in {@link
   * #ALGORITHMS}. The one wording, for {@code check} and the authenticator alike.
   */
  public static String refusedAlgorithm(String name) {
    if (ALGORITHMS.contains(name)) {
      return null;
    }
    return "'"
        + name
        + "' is not allowed (only "
        + String.join(", ", ALGORITHMS.stream().sorted().toList())
        + "; never none or HS*)";
  }

  public AuthSettings {
    audiences = audiences == null ? List.of() : List.copyOf(audiences);
    algorithms =
        algorithms == null || algorithms.isEmpty()
            ? List.of("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
            : List.copyOf(algorithms);
    leeway = leeway == null ? Duration.ofSeconds(30) : leeway;
    maxTokenBytes = maxTokenBytes <= 0 ? 8 * 1024 : maxTokenBytes;
    keyRefreshInterval = keyRefreshInterval == null ? Duration.ofMinutes(10) : keyRefreshInterval;
    minKeyRefreshInterval =
        minKeyRefreshInterval == null ? Duration.ofSeconds(30) : minKeyRefreshInterval;
    tokenCacheSize = tokenCacheSize <= 0 ? 10_000 : tokenCacheSize;
    claims = claims == null ? ClaimMapping.defaults() : claims;
  }

  public static AuthSettings devDefaults() {
    return new AuthSettings(
        DEV_ISSUER,
        List.of(DEV_AUDIENCE),
        null,
        null,
        null,
        true,
        null,
        null,
        0,
        null,
        null,
        0,
        null);
  }
}
