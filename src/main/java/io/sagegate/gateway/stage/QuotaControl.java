package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.authz.AccessRequest;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.sagegate.limits.CompiledLimits;
import io.sagegate.limits.LimitErrors;
import io.sagegate.limits.LimitMetrics;
import io.sagegate.limits.Quota;
import io.sagegate.limits.Quotas;
import io.sagegate.limits.RateLimitHeaders;
import io.sagegate.limits.Verdict;
import io.sagegate.openai.OpenAiCall;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Layer 2 of admission control: the shared quotas ({@code limits}) that apply to the caller and
 * endpoint, counted in the shared store in one round trip. Writes the rate-limit headers on the
 * response (so every answer of a limited route has them, refusals and streams included), then
 * refuses with 429 ThrottlingException and {@code Retry-After} if an enforced limit is over, or 503
 * if a {@code closed} limit's store is unreachable. A shadow limit that is over is counted and
 * logged, never refused. The audit record names the limit that refused, or the limits that applied.
 */
public final class QuotaControl implements Stage {

  private static final Logger LOG = LoggerFactory.getLogger(QuotaControl.class);

  /** One shadow-refusal log line per limit at most this often. */
  private static final long SHADOW_LOG_EVERY_NANOS = 10_000_000_000L;

  private final Quotas quotas;
  private final LimitMetrics metrics;
  private final ConcurrentHashMap<String, Long> shadowLogged = new ConcurrentHashMap<>();

  public QuotaControl(Quotas quotas, LimitMetrics metrics) {
    this.quotas = quotas;
    this.metrics = metrics;
  }

  @Override
  public void handle(Exchange ex) {
    CompiledLimits limits = quotas.compiled(ex.state().config().limits());
    if (limits.isEmpty()) {
      ex.next();
      return;
    }
    InvocationHeaders h = ex.headers();
    List<Quota> applying =
        limits.matching(
            new AccessRequest(
                ex.caller(),
                ex.endpoint(),
                ex.action(),
                ex.audit().sourceIp(),
                h.targetVariant(),
                h.targetModel(),
                h.inferenceComponent()));
    OpenAiCall chat =
        ex.openAi() != null && ex.openAi().route() == OpenAiCall.Route.CHAT_COMPLETIONS
            ? ex.openAi()
            : null;
    if (chat == null && limits.countsTokens() && !applying.isEmpty()) {
      // A tokens limit counts the OpenAI-compatible chat route only: no other call reports usage.
      applying = applying.stream().filter(q -> !q.countsTokens()).toList();
    }
    if (applying.isEmpty()) {
      ex.next();
      return;
    }
    ex.holdBody();
    // On the chat route OpenAiBody has read the body already: its size goes into the estimate.
    long bodyBytes = chat != null && ex.body() != null ? ex.body().length() : -1;
    quotas
        .check(
            applying, ex.caller(), ex.endpoint(), bodyBytes, chat == null ? -1 : chat.maxTokens())
        .onComplete(
            ar ->
                ex.onLoop(
                    () -> {
                      if (ar.failed()) {
                        ex.fail(ar.cause());
                      } else {
                        decide(ex, ar.result());
                      }
                    }));
  }

  private void decide(Exchange ex, List<Quotas.Outcome> outcomes) {
    RateLimitHeaders.write(ex.response(), outcomes);
    String endpoint = ex.endpoint().name();
    Quotas.Outcome refusing = null;
    boolean refusedByDay = false;
    Quotas.Outcome closed = null;
    long retryMicros = 0;
    StringBuilder applied = new StringBuilder();
    for (Quotas.Outcome o : outcomes) {
      applied.append(applied.length() == 0 ? "" : ",").append(o.quota().id());
      if (!o.refuses()) {
        continue;
      }
      if (o.kind() == Quotas.Kind.STORE_CLOSED) {
        closed = closed == null ? o : closed;
      } else if (o.quota().shadow()) {
        shadow(ex, o, endpoint);
      } else {
        // Refused by a count, not by the store: it has its verdict (Outcome.refuses).
        Verdict verdict = Objects.requireNonNull(o.verdict(), "a refusing count has its verdict");
        if (refusing == null) {
          refusing = o;
          refusedByDay = verdict.refusedByDay();
        }
        retryMicros = Math.max(retryMicros, verdict.retryAfterMicros());
      }
    }
    if (refusing != null) {
      String id = refusing.quota().id();
      ex.audit().limit(id);
      metrics.refused(id, endpoint);
      boolean day = refusedByDay;
      String what =
          refusing.quota().countsTokens()
              ? (day ? "Daily token quota" : "Token rate limit")
              : (day ? "Daily quota" : "Rate limit");
      ex.fail(
          LimitErrors.throttled(
              what + " '" + id + "' exceeded for endpoint " + endpoint + "; retry later",
              (retryMicros + 999_999) / 1_000_000,
              day ? LimitErrors.DAILY_QUOTA : LimitErrors.QUOTA));
      return;
    }
    if (closed != null) {
      String id = closed.quota().id();
      ex.audit().limit(id);
      metrics.refused(id, endpoint);
      ex.fail(
          LimitErrors.unavailable(
              "The limit store is unavailable; retry later", 1, LimitErrors.STORE_UNAVAILABLE));
      return;
    }
    ex.audit().limit(applied.toString());
    settleTokens(ex, outcomes);
    ex.next();
  }

  /**
   * Once the call ends, its tokens limits are charged the real usage ({@code usage} as metered into
   * the audit record) in place of the estimate: the difference is charged, or credited. A call that
   * never reached the model is credited its whole estimate; one whose model reported no usage keeps
   * it.
   */
  private void settleTokens(Exchange ex, List<Quotas.Outcome> outcomes) {
    List<Quotas.Outcome> tokens = null;
    for (Quotas.Outcome o : outcomes) {
      if (o.quota().countsTokens() && o.charged()) {
        tokens = tokens == null ? new java.util.ArrayList<>(2) : tokens;
        tokens.add(o);
      }
    }
    if (tokens == null) {
      return;
    }
    List<Quotas.Outcome> settle = tokens;
    ex.onEnd(
        () -> {
          AuditRecord a = ex.audit();
          long used;
          if (a.promptTokens() >= 0 || a.completionTokens() >= 0) {
            used = Math.max(0, a.promptTokens()) + Math.max(0, a.completionTokens());
          } else if (a.backendStatus() == 0) {
            used = 0;
          } else {
            return;
          }
          for (Quotas.Outcome o : settle) {
            quotas.settle(o, used);
          }
        });
  }

  private void shadow(Exchange ex, Quotas.Outcome o, String endpoint) {
    String id = o.quota().id();
    metrics.shadowRefused(id, endpoint);
    long now = System.nanoTime();
    Long last = shadowLogged.get(id);
    if (last == null || now - last > SHADOW_LOG_EVERY_NANOS) {
      shadowLogged.put(id, now);
      LOG.info(
          "Limit {} (shadow) would have refused request {} to endpoint {}; let through",
          id,
          ex.audit().requestId(),
          endpoint);
    }
  }
}
