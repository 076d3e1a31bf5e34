package io.sagegate.config;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;

/**
 * The whole, validated configuration. Immutable; a reload builds a new one and swaps it in. Server,
 * auth, audit, aws and admission settings are read at start; endpoints, rules and limits reload
 * live.
 */
public record GatewayConfig(
    ServerSettings server,
    AuthSettings auth,
    AuditSettings audit,
    AwsSettings aws,
    List<EndpointConfig> endpoints,
    List<RuleConfig> rules,
    AdmissionSettings admission,
    List<LimitConfig> limits) {

  /** An absent section (null) takes its defaults. */
  public GatewayConfig(
      @Nullable ServerSettings server,
      @Nullable AuthSettings auth,
      @Nullable AuditSettings audit,
      @Nullable AwsSettings aws,
      @Nullable List<EndpointConfig> endpoints,
      @Nullable List<RuleConfig> rules,
      @Nullable AdmissionSettings admission,
      @Nullable List<LimitConfig> limits) {
    this.server = server == null ? ServerSettings.defaults() : server;
    this.auth = auth == null ? AuthSettings.devDefaults() : auth;
    this.audit = audit == null ? AuditSettings.defaults() : audit;
    this.aws = aws == null ? AwsSettings.defaults() : aws;
    this.endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
    this.rules = rules == null ? List.of() : List.copyOf(rules);
    this.admission = admission == null ? AdmissionSettings.defaults() : admission;
    this.limits = limits == null ? List.of() : List.copyOf(limits);
  }

  /** A configuration without admission settings or limits. */
  public GatewayConfig(
      @Nullable ServerSettings server,
      @Nullable AuthSettings auth,
      @Nullable AuditSettings audit,
      @Nullable AwsSettings aws,
      @Nullable List<EndpointConfig> endpoints,
      @Nullable List<RuleConfig> rules) {
    this(server, auth, audit, aws, endpoints, rules, null, null);
  }

  /**
   * Endpoints by lower-cased name: SageMaker endpoint names are case-insensitive, so {@code
   * Fraud-Scorer} is the same endpoint as {@code fraud-scorer} and meets the same rules.
   */
  public Map<String, EndpointConfig> endpointsByKey() {
    return endpoints.stream()
        .collect(Collectors.toUnmodifiableMap(e -> key(e.name()), Function.identity()));
  }

  public Optional<EndpointConfig> endpoint(String name) {
    return endpoints.stream().filter(e -> key(e.name()).equals(key(name))).findFirst();
  }

  public static String key(String endpointName) {
    return endpointName.toLowerCase(Locale.ROOT);
  }
}
