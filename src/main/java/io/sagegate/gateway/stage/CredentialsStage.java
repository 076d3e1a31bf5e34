package io.sagegate.gateway.stage;

import io.sagegate.credentials.CredentialsException;
import io.sagegate.credentials.CredentialsProvider;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;

/**
 * Obtains the credentials the allowed call runs under (a scoped STS session on the AWS path, none
 * for containers) and names them in the audit record; when they cannot be obtained, the record
 * still names the role, session name and SourceIdentity that were asked for. After BodyReader, so
 * an STS call is never made for a request whose body is then refused.
 */
public final class CredentialsStage implements Stage {

  private final CredentialsProvider provider;

  public CredentialsStage(CredentialsProvider provider) {
    this.provider = provider;
  }

  @Override
  public void handle(Exchange ex) {
    ex.later(); // the credentials' callback carries on (at once when cached)
    provider
        .credentialsFor(ex.caller(), ex.endpoint(), ex.action(), ex.decision())
        .onComplete(
            ar -> {
              if (ar.failed()) {
                // A refused or failed attempt still names the role and identity it was for.
                if (ar.cause() instanceof CredentialsException attempt) {
                  ex.audit()
                      .session(attempt.roleArn(), attempt.sessionName(), attempt.sourceIdentity());
                }
                ex.fail(ar.cause());
                return;
              }
              ScopedCredentials credentials = ar.result();
              ex.audit()
                  .session(
                      credentials.roleArn(),
                      credentials.sessionName(),
                      credentials.sourceIdentity());
              ex.credentials(credentials);
              ex.next();
            });
  }
}
