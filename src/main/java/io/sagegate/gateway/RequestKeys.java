package io.sagegate.gateway;

import io.sagegate.audit.AuditRecord;
import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.RoutingContext;

/**
 * Every piece of request state the stages hand each other, under one typed key each, declared
 * in this one file so the flow of data through the pipeline can be read in one place.
 */
public final class RequestKeys {

  /** Opened by RequestTracking, written once from the end handler. */
  public static final Key<AuditRecord> AUDIT = new Key<>("sagegate.audit");
  /** The configuration snapshot this request is served with (reloads never change it mid-way). */
  public static final Key<GatewayState> STATE = new Key<>("sagegate.state");
  /** Endpoint name as written in the path (checked against SageMaker's pattern). */
  public static final Key<String> ENDPOINT_NAME = new Key<>("sagegate.endpointName");
  public static final Key<Action> ACTION = new Key<>("sagegate.action");
  public static final Key<Caller> CALLER = new Key<>("sagegate.caller");
  public static final Key<InvocationHeaders> HEADERS = new Key<>("sagegate.headers");
  public static final Key<EndpointConfig> ENDPOINT = new Key<>("sagegate.endpoint");
  public static final Key<Decision> DECISION = new Key<>("sagegate.decision");
  public static final Key<Buffer> BODY = new Key<>("sagegate.body");
  public static final Key<ScopedCredentials> CREDENTIALS = new Key<>("sagegate.credentials");

  /** A typed name for a value stored on the routing context. */
  public static final class Key<T> {
    private final String name;

    private Key(String name) {
      this.name = name;
    }

    public T get(RoutingContext ctx) {
      return ctx.get(name);
    }

    public void put(RoutingContext ctx, T value) {
      ctx.put(name, value);
    }

    @Override
    public String toString() {
      return name;
    }
  }

  private RequestKeys() {}
}
