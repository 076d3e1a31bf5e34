package io.sagegate.gateway;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.audit.AuditRecord;
import io.sagegate.audit.JsonLinesAuditSink;
import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.CredentialsProvider;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.stage.CredentialsStage;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real {@link CredentialsStage} for one allowed call on an event loop, as the pipeline
 * does after the body is read, and hands back the failure (if any) and the audit record as the sink
 * would write it. For provider tests against moto and the emulator that check what a refused or
 * failed STS attempt leaves in the audit record, without a gateway around them.
 */
public final class CredentialsStageRun {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** What the stage left: {@code failure} null when credentials were obtained. */
  public record Outcome(Throwable failure, JsonNode audit) {
    /** The failure as the caller's error; fails the test when there is none. */
    public GatewayException error() {
      if (failure instanceof GatewayException e) {
        return e;
      }
      throw new AssertionError("expected a GatewayException, got " + failure, failure);
    }

    /**
     * Checks the record names the attempt: {@code roleArn}, and {@code identity} as session name
     * and SourceIdentity; a null argument means the field must be absent.
     */
    public void assertAttempt(String roleArn, String identity) {
      assertField("roleArn", roleArn);
      assertField("sessionName", identity);
      assertField("sourceIdentity", identity);
    }

    private void assertField(String field, String expected) {
      JsonNode value = audit.get(field);
      String actual = value == null || value.isNull() ? null : value.asText();
      if (!java.util.Objects.equals(expected, actual)) {
        throw new AssertionError(
            "audit " + field + ": expected " + expected + " but was " + actual + " in " + audit);
      }
    }
  }

  public static Outcome run(
      Vertx vertx,
      CredentialsProvider provider,
      Caller caller,
      EndpointConfig endpoint,
      Action action,
      Decision decision)
      throws Exception {
    CompletableFuture<Outcome> done = new CompletableFuture<>();
    vertx.runOnContext(
        v -> {
          Stage[] stages = {
            new CredentialsStage(provider), ex -> done.complete(new Outcome(null, json(ex.audit())))
          };
          Exchange ex =
              new Exchange(
                  null,
                  stages,
                  (e, failure) -> done.complete(new Outcome(failure, json(e.audit()))));
          ex.begin(
              new AuditRecord(
                  Instant.now(), System.nanoTime(), "credentials-stage-run", "127.0.0.1", "POST"),
              null);
          ex.operation(action, endpoint.name());
          ex.caller(caller);
          ex.allowed(endpoint, decision);
          ex.next();
        });
    return done.get(60, TimeUnit.SECONDS);
  }

  private static JsonNode json(AuditRecord record) {
    try {
      return JSON.readTree(JsonLinesAuditSink.toJson(record));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private CredentialsStageRun() {}
}
