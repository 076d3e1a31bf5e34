package io.sagegate.config;

/**
 * Which token claims hold the caller's subject, groups (or roles), scopes and tenant. A dotted name
 * reaches into nested objects: {@code realm_access.roles}. Claim names that themselves contain a
 * dot or colon, such as {@code cognito:groups}, are looked up whole first.
 */
public record ClaimMapping(String subject, String groups, String scopes, String tenant) {

  public ClaimMapping {
    subject = subject == null ? "sub" : subject;
    groups = groups == null ? "groups" : groups;
    scopes = scopes == null ? "scope" : scopes;
    tenant = tenant == null ? "tenant" : tenant;
  }

  public static ClaimMapping defaults() {
    return new ClaimMapping(null, null, null, null);
  }
}
