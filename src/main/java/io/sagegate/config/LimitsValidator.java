package io.sagegate.config;

import io.sagegate.match.Glob;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Checks what the types of the admission settings, the endpoints' concurrency caps and the {@code
 * limits} cannot say, as {@link ConfigValidator} checks the rest: every problem, each with file,
 * field path and value.
 */
final class LimitsValidator {

  /** A limit id: it appears in headers, keys, metric labels and audit records. */
  static final Pattern LIMIT_ID = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");

  /** Key parts that are not claim names. */
  static final Set<String> KEY_FIELDS = Set.of("subject", "tenant", "issuer");

  private final String file;
  private final Set<String> alreadyReported;
  private final List<ConfigError> errors = new ArrayList<>();
  private final List<ConfigError> warnings = new ArrayList<>();

  private LimitsValidator(String file, Set<String> alreadyReported) {
    this.file = file;
    this.alreadyReported = alreadyReported;
  }

  static ConfigValidator.Result validate(
      String file,
      GatewayConfig config,
      int[] endpointIndex,
      int[] limitIndex,
      Set<String> alreadyReported) {
    LimitsValidator v = new LimitsValidator(file, alreadyReported);
    v.endpoints(config, endpointIndex);
    v.limits(config, limitIndex);
    return new ConfigValidator.Result(v.errors, v.warnings);
  }

  private void endpoints(GatewayConfig config, int[] index) {
    for (int n = 0; n < config.endpoints().size(); n++) {
      EndpointConfig e = config.endpoints().get(n);
      String p = "endpoints[" + index[n] + "]";
      concurrency(p, e.maxConcurrency(), e.adaptiveConcurrency());
      for (Map.Entry<String, ComponentLimits> c : e.inferenceComponents().entrySet()) {
        String cp = p + ".inferenceComponents." + c.getKey();
        if (c.getKey().isBlank()) {
          error(cp, c.getKey(), "an inference component name must not be empty");
        }
        if (c.getValue() == null || c.getValue().maxConcurrency() == null) {
          error(cp + ".maxConcurrency", null, "required (the component's cap on calls in flight)");
        } else {
          concurrency(cp, c.getValue().maxConcurrency(), c.getValue().adaptiveConcurrency());
        }
      }
    }
  }

  private void concurrency(String p, @Nullable Integer max, Boolean adaptive) {
    if (max != null && max < 1) {
      error(p + ".maxConcurrency", max, max + " must be 1 or more (leave it out for no cap)");
    }
    if (Boolean.TRUE.equals(adaptive) && max == null) {
      error(
          p + ".adaptiveConcurrency",
          true,
          "needs maxConcurrency: the adaptive limit moves between 1 and that cap");
    }
  }

  private void limits(GatewayConfig config, int[] index) {
    Map<String, String> ids = new HashMap<>();
    for (int n = 0; n < config.limits().size(); n++) {
      LimitConfig l = config.limits().get(n);
      String p = "limits[" + index[n] + "]";
      if (l.id() == null || l.id().isBlank()) {
        error(
            p + ".id",
            l.id(),
            "required (a name for the limit, used in headers, metrics and audit)");
      } else if (!LIMIT_ID.matcher(l.id()).matches()) {
        error(
            p + ".id",
            l.id(),
            "'"
                + l.id()
                + "' must be 1 to 64 letters, digits, '.', '_' or '-',"
                + " starting with a letter or digit");
      } else {
        String prior = ids.putIfAbsent(l.id(), p);
        if (prior != null) {
          error(p + ".id", l.id(), "'" + l.id() + "' is also the id of " + prior);
        }
      }
      if (l.rate() < 1 && !alreadyReported.contains(p + ".rate")) {
        error(
            p + ".rate",
            l.rate(),
            l.rate() == 0
                ? "required: calls allowed per 'per' (e.g. rate: 10, per: 1s)"
                : l.rate() + " must be 1 or more");
      }
      if ((l.per().isZero() || l.per().isNegative()) && !alreadyReported.contains(p + ".per")) {
        error(p + ".per", l.per(), "must be longer than zero");
      }
      if (l.burst() < 1 && l.rate() >= 1) {
        error(p + ".burst", l.burst(), l.burst() + " must be 1 or more (the default is the rate)");
      }
      if (l.dailyQuota() < 0) {
        error(p + ".dailyQuota", l.dailyQuota(), l.dailyQuota() + " must be 0 (none) or more");
      }
      if (l.estimate().bytesPerToken() < 1) {
        error(
            p + ".estimate.bytesPerToken",
            l.estimate().bytesPerToken(),
            l.estimate().bytesPerToken() + " must be 1 or more (the default is 4)");
      }
      if (l.estimate().completionTokens() < 0) {
        error(
            p + ".estimate.completionTokens",
            l.estimate().completionTokens(),
            l.estimate().completionTokens() + " must be 0 or more (the default is 256)");
      }
      if (l.key().isEmpty() && !l.perEndpoint()) {
        warn(p + ".key", List.of(), "empty and perEndpoint false: every caller shares one count");
      }
      for (int i = 0; i < l.key().size(); i++) {
        String k = l.key().get(i);
        if (k == null || k.isBlank()) {
          error(
              p + ".key[" + i + "]", k, "a key part must name subject, tenant, issuer or a claim");
        }
      }
      // Principal, resource and actions are checked as a rule's are (the policy engine matches
      // them the same way); checked here on the configuration alone, so config needs no authz.
      RuleConfig.Principal pr = l.principal();
      patterns(p + ".principal.subjects", pr.subjects());
      patterns(p + ".principal.groups", pr.groups());
      patterns(p + ".principal.scopes", pr.scopes());
      patterns(p + ".principal.tenants", pr.tenants());
      pr.claims()
          .forEach(
              (claim, values) -> {
                if (claim == null || claim.isEmpty()) {
                  error(p + ".principal.claims", claim, "a claim name must not be empty");
                }
                patterns(p + ".principal.claims." + claim, values);
              });
      patterns(p + ".resource.endpoints", l.resource().endpoints());
      l.resource().tags().forEach((tag, values) -> patterns(p + ".resource.tags." + tag, values));
      for (String a : l.actions()) {
        if (!"*".equals(a) && !RuleConfig.ACTIONS.contains(a)) {
          error(
              p + ".actions",
              a,
              "'" + a + "' is not one of " + String.join(", ", RuleConfig.ACTIONS) + ", *");
        }
      }
      for (String pattern : l.resource().endpoints()) {
        if (pattern != null
            && !pattern.contains("*")
            && !pattern.contains("?")
            && config.endpoint(pattern).isEmpty()) {
          warn(
              p + ".resource.endpoints", pattern, "'" + pattern + "' is not a configured endpoint");
        }
      }
    }
    if (!config.limits().isEmpty() && !config.admission().store().configured()) {
      warn(
          "admission.store",
          null,
          "not set: limits are counted in each replica alone"
              + " (with several replicas, each admits the whole limit)");
    }
  }

  private void patterns(String field, List<String> values) {
    for (int i = 0; i < values.size(); i++) {
      String v = values.get(i);
      if (v == null || v.isEmpty()) {
        error(field + "[" + i + "]", v, "a pattern must not be empty");
        continue;
      }
      try {
        Glob.compile(v, true);
      } catch (IllegalArgumentException e) {
        error(
            field + "[" + i + "]",
            v,
            Objects.requireNonNull(e.getMessage(), "Glob.compile names the problem"));
      }
    }
  }

  private void error(String field, @Nullable Object value, String message) {
    errors.add(new ConfigError(file, field, value, message));
  }

  private void warn(String field, @Nullable Object value, String message) {
    warnings.add(new ConfigError(file, field, value, message));
  }
}
