package io.sagegate.limits;

import io.sagegate.authz.AccessRequest;
import io.sagegate.config.ComponentLimits;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.LimitConfig;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** For {@code explain}: the limits that would apply to a call, as the gateway would match them. */
public final class LimitsExplainer {

  private LimitsExplainer() {}

  /** The lines describing every limit that applies to {@code request}, or one saying none. */
  public static List<String> describe(GatewayConfig config, AccessRequest request) {
    List<String> lines = new ArrayList<>();
    EndpointConfig ep = request.endpoint();
    if (ep.maxConcurrency() != null) {
      lines.add(
          "maxConcurrency  "
              + ep.maxConcurrency()
              + " calls in flight per replica on endpoint "
              + ep.name()
              + (ep.adaptiveConcurrency() ? " (adaptive, at most)" : ""));
    }
    String ic = request.inferenceComponent();
    ComponentLimits c = ic == null ? null : ep.inferenceComponents().get(ic);
    if (c != null && c.maxConcurrency() != null) {
      lines.add(
          "maxConcurrency  "
              + c.maxConcurrency()
              + " calls in flight per replica on inference"
              + " component "
              + ic
              + (c.adaptiveConcurrency() ? " (adaptive, at most)" : ""));
    }
    for (Quota q : new CompiledLimits(config.limits()).matching(request)) {
      LimitConfig l = q.config();
      lines.add(
          l.id()
              + "  "
              + l.rate()
              + (l.countsTokens() ? " tokens" : "")
              + " per "
              + human(l.per())
              + ", burst "
              + l.burst()
              + (l.dailyQuota() > 0 ? ", daily quota " + l.dailyQuota() : "")
              + ", "
              + l.mode()
              + ", onStoreError "
              + l.onStoreError()
              + ", counted under key "
              + q.key(request.caller(), ep));
    }
    if (lines.isEmpty()) {
      lines.add("(none)");
    }
    return lines;
  }

  public static void print(PrintWriter out, GatewayConfig config, AccessRequest request) {
    out.println();
    out.println("Limits that would apply:");
    for (String line : describe(config, request)) {
      out.println("  " + line);
    }
  }

  private static String human(java.time.Duration d) {
    String s = d.toString().substring(2).toLowerCase(java.util.Locale.ROOT);
    return s.endsWith(".0s") ? s.replace(".0s", "s") : s;
  }
}
