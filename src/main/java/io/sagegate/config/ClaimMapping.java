package io.sagegate.config;

import org.jspecify.annotations.Nullable;

/**
 * Which token claims hold the caller's subject, groups (or roles), scopes and tenant. A dotted name
 * reaches into nested objects: {@code realm_access.roles}. Claim names that themselves contain a
 * dot or colon, such as {@code cognito:groups}, are looked up whole first.
 */
public record ClaimMapping(String subject, String groups, String scopes, String tenant) {

  /** An absent claim name (null) takes its default. */
  public ClaimMapping(
      @Nullable String subject,
      @Nullable String groups,
      @Nullable String scopes,
      @Nullable String tenant) {
    this.subject = subject == null ? "sub" : subject;
    this.groups = groups == null ? "groups" : groups;
    this.scopes = scopes == null ? "scope" : scopes;
    this.tenant = tenant == null ? "tenant" : tenant;
  }

  public static ClaimMapping defaults() {
    return new ClaimMapping(null, null, null, null);
  }
}
