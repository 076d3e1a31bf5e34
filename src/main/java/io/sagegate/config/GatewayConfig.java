package io.sagegate.config;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

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

  public GatewayConfig {
    server = server == null ? ServerSettings.defaults() : server;
    auth = auth == null ? AuthSettings.devDefaults() : auth;
    audit = audit == null ? AuditSettings.defaults() : audit;
    aws = aws == null ? AwsSettings.defaults() : aws;
    endpoints = endpoints == null ? List.of() : List.copyOf(endpoints);
    rules = rules == null ? List.of() : List.copyOf(rules);
    admission = admission == null ? AdmissionSettings.defaults() : admission;
    limits = limits == null ? List.of() : List.copyOf(limits);
  }

  /** A configuration without admission settings or limits. */
  public GatewayConfig(
      ServerSettings server,
      AuthSettings auth,
      AuditSettings audit,
      AwsSettings aws,
      List<EndpointConfig> endpoints,
      List<RuleConfig> rules) {
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
