package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.credentials.CredentialsProvider;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.gateway.RequestKeys;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;

/**
 * Obtains the credentials the allowed call runs under (a scoped STS session on the AWS path,
 * none for containers) and names them in the audit record. After BodyReader, so an STS call is
 * never made for a request whose body is then refused.
 */
public final class CredentialsStage implements Handler<RoutingContext> {

  private final CredentialsProvider provider;

  public CredentialsStage(CredentialsProvider provider) {
    this.provider = provider;
  }

  @Override
  public void handle(RoutingContext ctx) {
    provider
        .credentialsFor(
            RequestKeys.CALLER.get(ctx),
            RequestKeys.ENDPOINT.get(ctx),
            RequestKeys.ACTION.get(ctx),
            RequestKeys.DECISION.get(ctx))
        .onComplete(ar -> {
          if (ar.failed()) {
            ctx.fail(ar.cause());
            return;
          }
          ScopedCredentials credentials = ar.result();
          AuditRecord audit = RequestKeys.AUDIT.get(ctx);
          audit.roleArn = credentials.roleArn();
          audit.sessionName = credentials.sessionName();
          audit.sourceIdentity = credentials.sourceIdentity();
          RequestKeys.CREDENTIALS.put(ctx, credentials);
          ctx.next();
        });
  }
}
