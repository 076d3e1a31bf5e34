package io.sagegate.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The gateway's own AWS identity and how it assumes scoped invoke roles. {@code null} endpoint URLs
 * mean the SDK's regional defaults; set them for VPC interface endpoints, FIPS endpoints or
 * emulators.
 *
 * @param sessionTags STS session tag key to the claim it is read from (e.g. {@code team: team})
 * @param transitiveTagKeys session tag keys passed on when the session assumes further roles
 * @param roleChaining true when the gateway itself runs under an assumed role, which caps the
 *     session at one hour
 */
public record AwsSettings(
    @Nullable String region,
    @Nullable String accountId,
    @Nullable String stsEndpoint,
    @Nullable String sagemakerRuntimeEndpoint,
    @Nullable String externalId,
    Duration sessionDuration,
    Map<String, String> sessionTags,
    List<String> transitiveTagKeys,
    boolean roleChaining,
    int credentialCacheSize,
    Duration refreshAhead) {

  /**
   * Absent durations, tags and tag keys (null) take their defaults, as does a size of 0 or less.
   */
  public AwsSettings(
      @Nullable String region,
      @Nullable String accountId,
      @Nullable String stsEndpoint,
      @Nullable String sagemakerRuntimeEndpoint,
      @Nullable String externalId,
      @Nullable Duration sessionDuration,
      @Nullable Map<String, String> sessionTags,
      @Nullable List<String> transitiveTagKeys,
      boolean roleChaining,
      int credentialCacheSize,
      @Nullable Duration refreshAhead) {
    this.region = region;
    this.accountId = accountId;
    this.stsEndpoint = stsEndpoint;
    this.sagemakerRuntimeEndpoint = sagemakerRuntimeEndpoint;
    this.externalId = externalId;
    this.sessionDuration = sessionDuration == null ? Duration.ofHours(1) : sessionDuration;
    this.sessionTags = sessionTags == null ? Map.of() : Map.copyOf(sessionTags);
    this.transitiveTagKeys = transitiveTagKeys == null ? List.of() : List.copyOf(transitiveTagKeys);
    this.roleChaining = roleChaining;
    this.credentialCacheSize = credentialCacheSize <= 0 ? 10_000 : credentialCacheSize;
    this.refreshAhead = refreshAhead == null ? Duration.ofMinutes(5) : refreshAhead;
  }

  public static AwsSettings defaults() {
    return new AwsSettings(null, null, null, null, null, null, null, null, false, 0, null);
  }
}
