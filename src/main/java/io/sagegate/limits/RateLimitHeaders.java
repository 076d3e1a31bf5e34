package io.sagegate.limits;

import io.vertx.core.http.HttpServerResponse;
import java.util.List;

/**
 * The rate-limit headers of a limited route, on every answer (written before the response head, so
 * before the first byte of a stream): the IETF draft's {@code RateLimit-Policy} and {@code
 * RateLimit} (draft-ietf-httpapi-ratelimit-headers-08 and later: one item per policy, named by the
 * limit id; a daily quota is a second policy {@code "<id>-daily"}), and, for older clients, {@code
 * X-RateLimit-Limit/Remaining/Reset} for the most constraining of them. For a GCRA bucket, {@code
 * q} is the burst, {@code w} the seconds it takes to refill from empty, {@code r} the calls left
 * now and {@code t} the seconds until the bucket is full again. {@code X-RateLimit-Reset} is in
 * seconds from now, as {@code t}.
 */
public final class RateLimitHeaders {

  public static final String POLICY = "RateLimit-Policy";
  public static final String RATELIMIT = "RateLimit";
  public static final String X_LIMIT = "X-RateLimit-Limit";
  public static final String X_REMAINING = "X-RateLimit-Remaining";
  public static final String X_RESET = "X-RateLimit-Reset";

  private RateLimitHeaders() {}

  public static void write(HttpServerResponse response, List<Quotas.Outcome> outcomes) {
    StringBuilder policy = new StringBuilder();
    StringBuilder current = new StringBuilder();
    long xLimit = -1;
    long xRemaining = Long.MAX_VALUE;
    long xReset = 0;
    for (Quotas.Outcome o : outcomes) {
      Quota q = o.quota();
      Verdict v = o.verdict();
      long limit = v == null ? q.burst() : v.limit();
      long window =
          v == null || v.windowSeconds() <= 0
              ? seconds(q.burst() * q.intervalMicros())
              : v.windowSeconds();
      item(policy, q.id()).append(";q=").append(limit).append(";w=").append(Math.max(1, window));
      if (q.dailyQuota() > 0) {
        long daily = v == null || v.dailyQuota() <= 0 ? q.dailyQuota() : v.dailyQuota();
        item(policy, q.id() + "-daily").append(";q=").append(daily).append(";w=86400");
      }
      if (v == null) {
        continue; // the store could not count: no current figures to show
      }
      long reset = seconds(v.resetMicros());
      item(current, q.id()).append(";r=").append(v.remaining()).append(";t=").append(reset);
      if (v.remaining() < xRemaining) {
        xLimit = limit;
        xRemaining = v.remaining();
        xReset = reset;
      }
      if (q.dailyQuota() > 0 && v.dayRemaining() >= 0) {
        long dayReset = Quotas.secondsToDayEnd();
        item(current, q.id() + "-daily")
            .append(";r=")
            .append(v.dayRemaining())
            .append(";t=")
            .append(dayReset);
        if (v.dayRemaining() < xRemaining) {
          xLimit = v.dailyQuota();
          xRemaining = v.dayRemaining();
          xReset = dayReset;
        }
      }
    }
    if (policy.length() > 0) {
      response.putHeader(POLICY, policy.toString());
    }
    if (current.length() > 0) {
      response.putHeader(RATELIMIT, current.toString());
    }
    if (xLimit >= 0) {
      response.putHeader(X_LIMIT, Long.toString(xLimit));
      response.putHeader(X_REMAINING, Long.toString(xRemaining));
      response.putHeader(X_RESET, Long.toString(xReset));
    }
  }

  private static StringBuilder item(StringBuilder b, String id) {
    if (b.length() > 0) {
      b.append(", ");
    }
    return b.append('"').append(id).append('"');
  }

  /** Microseconds as whole seconds, rounded up. */
  static long seconds(long micros) {
    return micros <= 0 ? 0 : (micros + 999_999) / 1_000_000;
  }
}
