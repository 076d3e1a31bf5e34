package io.sagegate.limits;

import io.sagegate.auth.Caller;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.LimitConfig;
import java.util.List;

/**
 * One configured limit, ready to count: its GCRA emission interval (microseconds per call), its
 * burst, its daily quota, and how a caller's key is built (claim values, and the endpoint unless
 * {@code perEndpoint: false}).
 */
public final class Quota {

  private final LimitConfig config;
  private final long intervalMicros;

  Quota(LimitConfig config) {
    this.config = config;
    this.intervalMicros = Math.max(1, config.per().toNanos() / 1000 / config.rate());
  }

  public LimitConfig config() {
    return config;
  }

  public String id() {
    return config.id();
  }

  public boolean shadow() {
    return config.mode() == LimitConfig.Mode.SHADOW;
  }

  /** Microseconds between calls at the steady rate (GCRA's emission interval). */
  public long intervalMicros() {
    return intervalMicros;
  }

  public long burst() {
    return config.burst();
  }

  public long dailyQuota() {
    return config.dailyQuota();
  }

  /** Whether this limit counts tokens (on the OpenAI-compatible chat route) rather than calls. */
  public boolean countsTokens() {
    return config.countsTokens();
  }

  /**
   * The tokens a chat call is estimated to cost before it is made: its body's bytes divided by
   * {@code estimate.bytesPerToken} (rounded up) for the prompt, plus {@code maxTokens} (the
   * request's {@code max_completion_tokens} or {@code max_tokens}), or {@code
   * estimate.completionTokens} when the request sets neither ({@code maxTokens} < 0).
   */
  public long estimate(long bodyBytes, long maxTokens) {
    LimitConfig.TokenEstimate e = config.estimate();
    long prompt = -Math.floorDiv(-Math.max(0, bodyBytes), e.bytesPerToken());
    return prompt + (maxTokens >= 0 ? maxTokens : e.completionTokens());
  }

  /**
   * The counted key: the limit id, the endpoint (lower-cased; unless perEndpoint is false) and the
   * caller's value of each key part, escaped so that no two callers share a key and no value can
   * end the hash tag early. A caller without a key part's claim counts under {@code ~}, with every
   * other caller that lacks it. The whole key sits in one Redis Cluster hash tag, so the rate key
   * and the day key of one caller land in the same slot.
   */
  public String key(Caller caller, EndpointConfig endpoint) {
    StringBuilder b = new StringBuilder(64).append(escape(config.id()));
    if (config.perEndpoint()) {
      b.append('|').append(escape(GatewayConfig.key(endpoint.name())));
    }
    for (String part : config.key()) {
      b.append('|').append(escape(value(caller, part)));
    }
    return b.toString();
  }

  private static String value(Caller caller, String part) {
    if (caller == null) {
      return "~";
    }
    String v =
        switch (part) {
          case "subject" -> caller.subject();
          case "tenant" -> caller.tenant();
          case "issuer" -> caller.issuer();
          default -> {
            List<String> values = Caller.values(Caller.claim(caller.claims(), part));
            yield values.isEmpty() ? null : String.join(",", values.stream().sorted().toList());
          }
        };
    return v == null ? "~" : v;
  }

  static String escape(String s) {
    StringBuilder b = null;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '%' || c == '|' || c == '{' || c == '}' || c == '~' || c < 0x20) {
        if (b == null) {
          b = new StringBuilder(s.length() + 8).append(s, 0, i);
        }
        b.append('%').append(String.format("%02X", (int) c));
      } else if (b != null) {
        b.append(c);
      }
    }
    return b == null ? s : b.toString();
  }
}
