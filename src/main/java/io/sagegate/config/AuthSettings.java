package io.sagegate.config;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * How bearer tokens are verified. Exactly one key source: {@code discoveryUrl} (OIDC discovery),
 * {@code jwksUri}, {@code staticJwksFile} (air-gapped sites) or {@code devIssuer} (the local
 * development issuer, whose key lives outside the repository).
 */
public record AuthSettings(
    @Nullable String issuer,
    List<String> audiences,
    @Nullable String discoveryUrl,
    @Nullable String jwksUri,
    @Nullable String staticJwksFile,
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
  public static @Nullable String refusedAlgorithm(String name) {
    if (ALGORITHMS.contains(name)) {
      return null;
    }
    return "'"
        + name
        + "' is not allowed (only "
        + String.join(", ", ALGORITHMS.stream().sorted().toList())
        + "; never none or HS*)";
  }

  /**
   * Absent lists, durations and claim mapping (null) take their defaults, as do sizes of 0 or less.
   */
  public AuthSettings(
      @Nullable String issuer,
      @Nullable List<String> audiences,
      @Nullable String discoveryUrl,
      @Nullable String jwksUri,
      @Nullable String staticJwksFile,
      boolean devIssuer,
      @Nullable List<String> algorithms,
      @Nullable Duration leeway,
      int maxTokenBytes,
      @Nullable Duration keyRefreshInterval,
      @Nullable Duration minKeyRefreshInterval,
      int tokenCacheSize,
      @Nullable ClaimMapping claims) {
    this.issuer = issuer;
    this.audiences = audiences == null ? List.of() : List.copyOf(audiences);
    this.discoveryUrl = discoveryUrl;
    this.jwksUri = jwksUri;
    this.staticJwksFile = staticJwksFile;
    this.devIssuer = devIssuer;
    this.algorithms =
        algorithms == null || algorithms.isEmpty()
            ? List.of("RS256", "RS384", "RS512", "PS256", "ES256", "ES384")
            : List.copyOf(algorithms);
    this.leeway = leeway == null ? Duration.ofSeconds(30) : leeway;
    this.maxTokenBytes = maxTokenBytes <= 0 ? 8 * 1024 : maxTokenBytes;
    this.keyRefreshInterval =
        keyRefreshInterval == null ? Duration.ofMinutes(10) : keyRefreshInterval;
    this.minKeyRefreshInterval =
        minKeyRefreshInterval == null ? Duration.ofSeconds(30) : minKeyRefreshInterval;
    this.tokenCacheSize = tokenCacheSize <= 0 ? 10_000 : tokenCacheSize;
    this.claims = claims == null ? ClaimMapping.defaults() : claims;
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
