package io.sagegate.config;

/**
 * The gateway's own AWS identity and endpoints (filled out by the AWS path). {@code null}
 * endpoint URLs mean the SDK's regional defaults.
 */
public record AwsSettings(
    String region,
    String accountId,
    String stsEndpoint,
    String sagemakerRuntimeEndpoint) {

  public static AwsSettings defaults() {
    return new AwsSettings(null, null, null, null);
  }
}
