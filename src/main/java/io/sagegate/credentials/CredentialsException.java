package io.sagegate.credentials;

import io.sagegate.error.GatewayException;
import org.jspecify.annotations.Nullable;

/**
 * Credentials could not be obtained, and this is what was asked for: the role, session name and
 * SourceIdentity of the attempt (each null when not derived before the refusal, e.g. a subject that
 * cannot be a SourceIdentity leaves only the role). The caller is answered exactly as for the
 * wrapped error; the attempt goes only to the audit record, so a refused or failed STS call still
 * tells the security team which role was tried for whom.
 *
 * <p>The {@code with*} methods of GatewayException return a plain GatewayException without the
 * attempt: add details before wrapping.
 */
public final class CredentialsException extends GatewayException {

  private final @Nullable String roleArn;
  private final @Nullable String sessionName;
  private final @Nullable String sourceIdentity;

  public CredentialsException(
      GatewayException failure,
      @Nullable String roleArn,
      @Nullable String sessionName,
      @Nullable String sourceIdentity) {
    super(
        failure.status(),
        failure.errorType(),
        failure.getMessage(),
        failure.extraFields(),
        failure.headers(),
        failure.auditReason(),
        failure.getCause());
    this.roleArn = roleArn;
    this.sessionName = sessionName;
    this.sourceIdentity = sourceIdentity;
  }

  /** The role the gateway tried to assume, or null when the endpoint named none. */
  public @Nullable String roleArn() {
    return roleArn;
  }

  /** The RoleSessionName asked for, or null when refused before it was derived. */
  public @Nullable String sessionName() {
    return sessionName;
  }

  /** The SourceIdentity asked for, or null when refused before it was derived. */
  public @Nullable String sourceIdentity() {
    return sourceIdentity;
  }
}
