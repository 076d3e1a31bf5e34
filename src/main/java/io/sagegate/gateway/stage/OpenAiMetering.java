package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.backend.BackendResponse;
import io.sagegate.openai.OpenAiCall;
import io.sagegate.openai.SseUsageStream;
import io.sagegate.openai.Usage;

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
    if (!answer.isStream()) {
      record(audit, Usage.of(answer.body()));
      return answer;
    }
    SseUsageStream stream =
        new SseUsageStream(answer.stream(), call.usageAdded(), u -> record(audit, u));
    return new BackendResponse(
        answer.status(),
        answer.headers(),
        null,
        stream,
        answer.cancel(),
        answer.upstreamRequestId());
  }

  private static void record(AuditRecord audit, Usage usage) {
    if (usage != null) {
      audit.tokens(usage.promptTokens(), usage.completionTokens());
    }
  }
}
