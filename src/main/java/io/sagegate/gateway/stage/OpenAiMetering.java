package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.backend.BackendResponse;
import io.sagegate.openai.OpenAiCall;
import io.sagegate.openai.SseUsageStream;
import io.sagegate.openai.Usage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import org.jspecify.annotations.Nullable;

/**
 * Token metering on the OpenAI-compatible routes: the {@code usage} of a buffered answer, or of the
 * stream chunk that carries it, goes to the audit record ({@code promptTokens}, {@code
 * completionTokens}); the request's metrics count it from there, per endpoint and type.
 */
public final class OpenAiMetering {

  private OpenAiMetering() {}

  /**
   * {@code answer} with its usage read into {@code audit}: at once when buffered, else on its way.
   */
  public static BackendResponse meter(BackendResponse answer, OpenAiCall call, AuditRecord audit) {
    ReadStream<Buffer> upstream = answer.stream();
    if (upstream == null) { // buffered
      record(audit, Usage.of(answer.body()));
      return answer;
    }
    SseUsageStream stream = new SseUsageStream(upstream, call.usageAdded(), u -> record(audit, u));
    return new BackendResponse(
        answer.status(),
        answer.headers(),
        null,
        stream,
        answer.cancel(),
        answer.upstreamRequestId());
  }

  /** {@code usage} into the record; none when the answer carried no usage. */
  private static void record(AuditRecord audit, @Nullable Usage usage) {
    if (usage != null) {
      audit.tokens(usage.promptTokens(), usage.completionTokens());
    }
  }
}
