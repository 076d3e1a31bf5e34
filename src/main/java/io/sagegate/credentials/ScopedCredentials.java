package io.sagegate.credentials;

import java.time.Instant;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsCredentials;

/**
 * Credentials obtained for one caller and endpoint: the AWS credentials of an assumed, narrowly
 * scoped session, and what the audit record names (role, session name, SourceIdentity). {@link
 * #NONE} for backends that need no AWS credentials.
 */
public record ScopedCredentials(
    @Nullable AwsCredentials credentials,
    @Nullable String roleArn,
    @Nullable String sessionName,
    @Nullable String sourceIdentity,
    @Nullable Instant expiration) {

  public static final ScopedCredentials NONE = new ScopedCredentials(null, null, null, null, null);

  public boolean isNone() {
    return credentials == null;
  }

  /**
   * The AWS credentials of a real session; asking {@link #NONE} for them is a bug in the caller,
   * which checks {@link #isNone()} first.
   */
  public AwsCredentials awsCredentials() {
    if (credentials == null) {
      throw new IllegalStateException("no AWS session: the backend needs no credentials");
    }
    return credentials;
  }

  @Override
  public String toString() {
    // Never print the secret parts.
    return "ScopedCredentials[role="
        + roleArn
        + ", session="
        + sessionName
        + ", expiration="
        + expiration
        + "]";
  }
}
