package io.sagegate.config;

import java.time.Duration;
import java.util.List;
import java.util.Map;

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
    String region,
    String accountId,
    String stsEndpoint,
    String sagemakerRuntimeEndpoint,
    String externalId,
    Duration sessionDuration,
    Map<String, String> sessionTags,
    List<String> transitiveTagKeys,
    boolean roleChaining,
    int credentialCacheSize,
    Duration refreshAhead) {

  public AwsSettings {
    sessionDuration = sessionDuration == null ? Duration.ofHours(1) : sessionDuration;
    sessionTags = sessionTags == null ? Map.of() : Map.copyOf(sessionTags);
    transitiveTagKeys = transitiveTagKeys == null ? List.of() : List.copyOf(transitiveTagKeys);
    credentialCacheSize = credentialCacheSize <= 0 ? 10_000 : credentialCacheSize;
    refreshAhead = refreshAhead == null ? Duration.ofMinutes(5) : refreshAhead;
  }

  public static AwsSettings defaults() {
    return new AwsSettings(null, null, null, null, null, null, null, null, false, 0, null);
  }
}
