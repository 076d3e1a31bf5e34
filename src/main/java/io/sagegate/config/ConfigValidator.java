package io.sagegate.config;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagegate.match.Cidr;
import io.sagegate.match.Glob;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Checks a bound configuration for everything its types cannot say, and reports every problem, each
 * with file, field path and value, instead of stopping at the first. Problems that make the gateway
 * refuse the file are errors; doubtful but workable settings are warnings.
 */
public final class ConfigValidator {

  /** Errors (the file is refused) and warnings (it is used, but probably not as meant). */
  public record Result(List<ConfigError> errors, List<ConfigError> warnings) {
    public Result {
      errors = List.copyOf(errors);
      warnings = List.copyOf(warnings);
    }
  }

  public static final Pattern ROLE_ARN =
      Pattern.compile("^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$");
  private static final Pattern REGION = Pattern.compile("^[a-z]{2}(-[a-z]+)+-\\d+$");
  private static final Pattern ACCOUNT_ID = Pattern.compile("^\\d{12}$");

  /** STS AssumeRole's ExternalId: 2 to 1224 characters of {@code [\w+=,.@:/-]}. */
  private static final Pattern EXTERNAL_ID = Pattern.compile("^[\\w+=,.@:/-]{2,1224}$");

  /** STS's session tag key: 1 to 128 characters of {@code [\p{L}\p{Z}\p{N}_.:/=+\-@]}. */
  private static final Pattern TAG_KEY = Pattern.compile("^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+$");

  private static final int MAX_TAG_KEY_LENGTH = 128;
  private static final int MAX_SESSION_TAGS = 50;
  private static final List<String> BACKEND_TYPES =
      List.of(BackendConfig.CONTAINER, BackendConfig.DEMO, BackendConfig.SAGEMAKER);

  private final String file;
  private final Set<String> alreadyReported;
  private final List<ConfigError> errors = new ArrayList<>();
  private final List<ConfigError> warnings = new ArrayList<>();

  private ConfigValidator(String file, Set<String> alreadyReported) {
    this.file = file;
    this.alreadyReported = alreadyReported;
  }

  /** Validates a configuration built in code (list positions are the indices reported). */
  public static Result validate(String file, GatewayConfig config) {
    return validate(
        file,
        config,
        null,
        identity(config.endpoints().size()),
        identity(config.rules().size()),
        Set.of());
  }

  /**
   * Validates what {@link ConfigLoader} bound from {@code root}: {@code endpointIndex[i]} is the
   * position in the file of {@code config.endpoints().get(i)} (elements that failed to bind are
   * missing from the config), and fields in {@code alreadyReported} (reported while binding) are
   * not reported again.
   */
  static Result validate(
      String file,
      GatewayConfig config,
      @Nullable JsonNode root,
      int[] endpointIndex,
      int[] ruleIndex,
      Set<String> alreadyReported) {
    ConfigValidator v = new ConfigValidator(file, alreadyReported);
    v.server(config.server(), root);
    v.auth(config.auth(), root);
    v.aws(config.aws(), root);
    v.endpoints(config, endpointIndex, root);
    v.rules(config, ruleIndex, endpointIndex);
    return new Result(v.errors, v.warnings);
  }

  // ---------------------------------------------------------------- sections

  private void server(ServerSettings s, @Nullable JsonNode root) {
    port("server.port", s.port());
    port("server.managementPort", s.managementPort());
    if (s.host().isBlank()) {
      error("server.host", s.host(), "must not be empty");
    }
    if (s.port() != 0 && s.port() == s.managementPort()) {
      error(
          "server.managementPort",
          s.managementPort(),
          s.managementPort() + " is also server.port; the two listeners need different ports");
    }
    positive(root, "server", "maxBodyBytes");
    positive(root, "server", "maxHeaderBytes");
    positiveDuration("server.idleTimeout", s.idleTimeout());
    positiveDuration("server.headerTimeout", s.headerTimeout());
    for (int i = 0; i < s.trustedProxies().size(); i++) {
      String field = "server.trustedProxies[" + i + "]";
      String cidr = s.trustedProxies().get(i);
      try {
        // Every address of its family, however written (0.0.0.0/0, ::/0, ::ffff:0:0/96).
        if (Cidr.parse(cidr).prefixLength() == 0) {
          warn(
              field,
              cidr,
              quote(cidr)
                  + " trusts every address: any client can set the source"
                  + " address its rules and audit record see with X-Forwarded-For");
        }
      } catch (IllegalArgumentException e) {
        error(field, cidr, Objects.requireNonNull(e.getMessage(), "Cidr.parse names the problem"));
      }
    }
  }

  private void auth(AuthSettings a, @Nullable JsonNode root) {
    List<String> sources = new ArrayList<>();
    String discoveryUrl = given(a.discoveryUrl());
    if (discoveryUrl != null) {
      sources.add("discoveryUrl");
      url("auth.discoveryUrl", discoveryUrl);
    }
    String jwksUri = given(a.jwksUri());
    if (jwksUri != null) {
      sources.add("jwksUri");
      url("auth.jwksUri", jwksUri);
    }
    if (present(a.staticJwksFile())) {
      sources.add("staticJwksFile");
    }
    if (a.devIssuer()) {
      sources.add("devIssuer");
    }
    boolean sourceUnreadable =
        alreadyReported.contains("auth.devIssuer")
            || alreadyReported.contains("auth.discoveryUrl")
            || alreadyReported.contains("auth.jwksUri")
            || alreadyReported.contains("auth.staticJwksFile");
    if (sourceUnreadable) {
      // The key source itself failed to bind and is reported; what is left proves nothing.
    } else if (sources.isEmpty()) {
      error(
          "auth",
          null,
          "no key source: set exactly one of discoveryUrl, jwksUri, staticJwksFile, devIssuer");
    } else if (sources.size() > 1) {
      error(
          "auth",
          sources,
          "more than one key source ("
              + String.join(", ", sources)
              + "): set exactly one of discoveryUrl, jwksUri, staticJwksFile, devIssuer");
    }
    if (!a.devIssuer() && !present(a.issuer()) && !sourceUnreadable) {
      error("auth.issuer", a.issuer(), "required (the expected 'iss' claim) unless devIssuer");
    }
    if (!a.devIssuer() && a.audiences().isEmpty()) {
      warn(
          "auth.audiences", null, "empty: tokens for any audience of this issuer will be accepted");
    }
    for (int i = 0; i < a.audiences().size(); i++) {
      notBlank("auth.audiences[" + i + "]", a.audiences().get(i));
    }
    for (int i = 0; i < a.algorithms().size(); i++) {
      String alg = a.algorithms().get(i);
      String refused = AuthSettings.refusedAlgorithm(alg);
      if (refused != null) {
        error("auth.algorithms[" + i + "]", alg, refused);
      }
    }
    if (a.leeway().isNegative()) {
      error("auth.leeway", a.leeway(), quote(a.leeway()) + " must not be negative");
    }
    positiveDuration("auth.keyRefreshInterval", a.keyRefreshInterval());
    positiveDuration("auth.minKeyRefreshInterval", a.minKeyRefreshInterval());
    positive(root, "auth", "maxTokenBytes");
    positive(root, "auth", "tokenCacheSize");
    ClaimMapping c = a.claims();
    notBlank("auth.claims.subject", c.subject());
    notBlank("auth.claims.groups", c.groups());
    notBlank("auth.claims.scopes", c.scopes());
    notBlank("auth.claims.tenant", c.tenant());
  }

  private void aws(AwsSettings a, @Nullable JsonNode root) {
    String region = given(a.region());
    if (region != null && !REGION.matcher(region).matches()) {
      error("aws.region", region, quote(region) + " is not an AWS region (e.g. eu-west-1)");
    }
    String accountId = given(a.accountId());
    if (accountId != null && !ACCOUNT_ID.matcher(accountId).matches()) {
      error("aws.accountId", accountId, quote(accountId) + " is not a 12-digit account id");
    }
    String stsEndpoint = given(a.stsEndpoint());
    if (stsEndpoint != null) {
      url("aws.stsEndpoint", stsEndpoint);
    }
    String runtimeEndpoint = given(a.sagemakerRuntimeEndpoint());
    if (runtimeEndpoint != null) {
      url("aws.sagemakerRuntimeEndpoint", runtimeEndpoint);
    }
    Duration d = a.sessionDuration();
    if (d.compareTo(Duration.ofMinutes(15)) < 0 || d.compareTo(Duration.ofHours(12)) > 0) {
      error("aws.sessionDuration", d, quote(d) + " is outside STS's 15m to 12h");
    } else if (a.roleChaining() && d.compareTo(Duration.ofHours(1)) > 0) {
      error(
          "aws.sessionDuration",
          d,
          quote(d) + " exceeds 1h, the most STS allows a chained role session");
    }
    positiveDuration("aws.refreshAhead", a.refreshAhead());
    if (a.refreshAhead().compareTo(d) >= 0) {
      error(
          "aws.refreshAhead",
          a.refreshAhead(),
          quote(a.refreshAhead()) + " must be shorter than aws.sessionDuration (" + human(d) + ")");
    }
    // STS's AssumeRole limits (botocore's sts model): refused by STS on every request otherwise.
    if (a.externalId() != null && !EXTERNAL_ID.matcher(a.externalId()).matches()) {
      // The value is not echoed: it is part of what the invoke roles' trust policies check.
      error(
          "aws.externalId",
          null,
          "must be 2 to 1224 characters of letters, digits and _+=,.@:/- (STS's limit)");
    }
    if (a.sessionTags().size() > MAX_SESSION_TAGS) {
      error(
          "aws.sessionTags",
          a.sessionTags().size(),
          a.sessionTags().size() + " tags configured; STS allows at most " + MAX_SESSION_TAGS);
    }
    Map<String, String> tagKeysIgnoringCase = new HashMap<>();
    for (String key : new java.util.TreeSet<>(a.sessionTags().keySet())) {
      String prior = tagKeysIgnoringCase.putIfAbsent(key.toLowerCase(Locale.ROOT), key);
      if (prior != null) {
        error(
            "aws.sessionTags",
            key,
            quote(prior)
                + " and "
                + quote(key)
                + " are the same session tag key to STS (tag keys are case-insensitive)");
      }
    }
    for (Map.Entry<String, String> e : a.sessionTags().entrySet()) {
      if (e.getKey().isBlank()) {
        error("aws.sessionTags", e.getKey(), "a session tag key must not be empty");
      } else if (e.getKey().length() > MAX_TAG_KEY_LENGTH
          || !TAG_KEY.matcher(e.getKey()).matches()) {
        error(
            "aws.sessionTags." + e.getKey(),
            e.getKey(),
            quote(e.getKey())
                + " is not a session tag key (1 to 128 letters, digits, spaces and _.:/=+-@)");
      } else if (e.getKey().regionMatches(true, 0, "aws:", 0, 4)) {
        error(
            "aws.sessionTags." + e.getKey(),
            e.getKey(),
            quote(e.getKey()) + " uses the prefix aws:, reserved by AWS");
      }
      notBlank("aws.sessionTags." + e.getKey(), e.getValue());
    }
    for (int i = 0; i < a.transitiveTagKeys().size(); i++) {
      String k = a.transitiveTagKeys().get(i);
      if (!a.sessionTags().containsKey(k)) {
        error("aws.transitiveTagKeys[" + i + "]", k, quote(k) + " is not a key of aws.sessionTags");
      }
    }
    positive(root, "aws", "credentialCacheSize");
  }

  private void endpoints(GatewayConfig config, int[] index, @Nullable JsonNode root) {
    Map<String, String> seen = new HashMap<>();
    for (int n = 0; n < config.endpoints().size(); n++) {
      EndpointConfig e = config.endpoints().get(n);
      String p = "endpoints[" + index[n] + "]";
      String name = e.name();
      if (!present(name)) {
        error(p + ".name", name, "required");
      } else {
        if (name.length() > EndpointConfig.NAME_MAX) {
          error(
              p + ".name",
              name,
              quote(name)
                  + " is "
                  + name.length()
                  + " characters; SageMaker endpoint names have at most "
                  + EndpointConfig.NAME_MAX);
        }
        if (!EndpointConfig.matchesNamePattern(name)) {
          error(
              p + ".name",
              name,
              quote(name)
                  + " is not a SageMaker endpoint name (letters, digits and inner hyphens)");
        }
        String prior = seen.putIfAbsent(GatewayConfig.key(name), p);
        if (prior != null) {
          error(
              p + ".name",
              name,
              quote(name)
                  + " is already the name of "
                  + prior
                  + " (endpoint names are case-insensitive)");
        }
      }
      for (Map.Entry<String, String> t : e.tags().entrySet()) {
        if (t.getKey().isBlank()) {
          error(p + ".tags", t.getKey(), "a tag key must not be empty");
        } else {
          notBlank(p + ".tags." + t.getKey(), t.getValue());
        }
      }
      backend(
          p + ".backend", e, config, root == null ? null : root.path("endpoints").path(index[n]));
    }
  }

  private void backend(String p, EndpointConfig e, GatewayConfig config, @Nullable JsonNode node) {
    BackendConfig b = e.backend();
    if (b == null) {
      error(p, null, "required (type: container, demo or sagemaker)");
      return;
    }
    if (!BACKEND_TYPES.contains(b.type())) {
      error(
          p + ".type",
          b.type(),
          quote(b.type()) + " is not one of " + String.join(", ", BACKEND_TYPES));
    }
    if (BackendConfig.CONTAINER.equals(b.type())) {
      String backendUrl = given(b.url());
      if (backendUrl == null) {
        error(p + ".url", b.url(), "required for a container backend (e.g. http://model:8080)");
      } else if (url(p + ".url", backendUrl)) {
        try {
          ContainerUrl.parse(new URI(backendUrl.trim()));
        } catch (IllegalArgumentException | URISyntaxException ex) {
          String shown = ContainerUrl.redacted(backendUrl);
          error(p + ".url", shown, quote(shown) + ": " + ex.getMessage());
        }
      }
    }
    positiveDuration(p + ".connectTimeout", b.connectTimeout());
    positiveDuration(p + ".timeout", b.timeout());
    if (node != null) {
      positive(node, "backend", "maxConnections", p + ".maxConnections");
    }
    notBlank(p + ".variant", b.variant());
    if (b.roleArn() != null) {
      roleArn(p + ".roleArn", b.roleArn());
    }
    for (int i = 0; i < b.asyncInputPrefixes().size(); i++) {
      s3(p + ".asyncInputPrefixes[" + i + "]", b.asyncInputPrefixes().get(i));
    }
    if (BackendConfig.SAGEMAKER.equals(b.type())) {
      if (!present(config.aws().region())) {
        error(
            "aws.region",
            config.aws().region(),
            "required: endpoint " + quote(e.name()) + " has a sagemaker backend");
      }
      if (b.roleArn() == null) {
        for (RuleConfig r : config.rules()) {
          if (r.effect() == RuleConfig.Effect.ALLOW && r.roleArn() == null && canMatch(r, e)) {
            warn(
                p + ".roleArn",
                null,
                "not set, and allow rule "
                    + quote(r.id())
                    + " that can match this endpoint names no roleArn either: calls it allows"
                    + " have no invoke role to assume");
          }
        }
      }
    }
  }

  private void rules(GatewayConfig config, int[] index, int[] endpointIndex) {
    Map<String, String> ids = new HashMap<>();
    boolean anyAllow = false;
    for (int n = 0; n < config.rules().size(); n++) {
      RuleConfig r = config.rules().get(n);
      String p = "rules[" + index[n] + "]";
      if (!present(r.id())) {
        error(p + ".id", r.id(), "required (a name for the rule, used in decisions and audit)");
      } else {
        String prior = ids.putIfAbsent(r.id(), p);
        if (prior != null) {
          error(p + ".id", r.id(), quote(r.id()) + " is already the id of " + prior);
        }
      }
      if (r.effect() == null) {
        error(p + ".effect", null, "required: allow or deny");
      } else if (r.effect() == RuleConfig.Effect.ALLOW) {
        anyAllow = true;
      }
      RuleConfig.Principal pr = r.principal();
      if (r.effect() == RuleConfig.Effect.ALLOW
          && pr.subjects().isEmpty()
          && pr.groups().isEmpty()
          && pr.scopes().isEmpty()
          && pr.tenants().isEmpty()
          && pr.claims().isEmpty()) {
        warn(p + ".principal", null, "not set: the rule allows every authenticated caller");
      }
      globs(p + ".principal.subjects", pr.subjects());
      globs(p + ".principal.groups", pr.groups());
      globs(p + ".principal.scopes", pr.scopes());
      globs(p + ".principal.tenants", pr.tenants());
      for (Map.Entry<String, List<String>> c : pr.claims().entrySet()) {
        if (c.getKey().isBlank()) {
          error(p + ".principal.claims", c.getKey(), "a claim name must not be empty");
        } else {
          nonEmptyGlobs(p + ".principal.claims." + c.getKey(), c.getValue());
        }
      }
      globs(p + ".resource.endpoints", r.resource().endpoints());
      for (Map.Entry<String, List<String>> t : r.resource().tags().entrySet()) {
        if (t.getKey().isBlank()) {
          error(p + ".resource.tags", t.getKey(), "a tag key must not be empty");
        } else {
          nonEmptyGlobs(p + ".resource.tags." + t.getKey(), t.getValue());
        }
      }
      if (r.actions().isEmpty()) {
        error(
            p + ".actions",
            List.of(),
            "is empty, so the rule can never match; write [\"*\"] for" + " every action");
      }
      for (int i = 0; i < r.actions().size(); i++) {
        String a = r.actions().get(i);
        if (!"*".equals(a) && !RuleConfig.ACTIONS.contains(a)) {
          error(
              p + ".actions[" + i + "]",
              a,
              quote(a) + " is not one of " + String.join(", ", RuleConfig.ACTIONS) + ", *");
        }
      }
      RuleConfig.Conditions c = r.conditions();
      for (int i = 0; i < c.sourceCidrs().size(); i++) {
        String cidr = c.sourceCidrs().get(i);
        try {
          Cidr.parse(cidr);
        } catch (IllegalArgumentException e) {
          error(
              p + ".conditions.sourceCidrs[" + i + "]",
              cidr,
              Objects.requireNonNull(e.getMessage(), "Cidr.parse names the problem"));
        }
      }
      globs(p + ".conditions.targetVariants", c.targetVariants());
      if (r.effect() == RuleConfig.Effect.DENY && !c.targetVariants().isEmpty()) {
        // A target condition is met only by a request that names a target. Target models and
        // inference components must be named on the endpoints that have them; a variant need not,
        // and SageMaker then picks one by weight.
        warn(
            p + ".conditions.targetVariants",
            c.targetVariants(),
            "this deny on "
                + quoted(c.targetVariants())
                + " does not apply to a request that names no variant,"
                + " which SageMaker routes by weight, perhaps to one of them; to keep callers off a"
                + " variant, allow only the others (an allow on targetVariants needs the request to"
                + " name one)");
      }
      globs(p + ".conditions.targetModels", c.targetModels());
      globs(p + ".conditions.inferenceComponents", c.inferenceComponents());
      for (int i = 0; i < c.inputLocations().size(); i++) {
        s3(p + ".conditions.inputLocations[" + i + "]", c.inputLocations().get(i));
      }
      if (!c.inputLocations().isEmpty()
          && !r.actions().isEmpty()
          && !r.actions().contains("*")
          && !r.actions().contains("invoke-async")) {
        // Only an async call has an input location: the condition is part of the match, so the
        // rule can never match.
        warn(
            p + ".conditions.inputLocations",
            c.inputLocations(),
            "only an invoke-async call"
                + " has an input location, and this rule's actions "
                + r.actions()
                + " exclude it:"
                + " the rule never matches");
      }
      if (r.roleArn() != null) {
        roleArn(p + ".roleArn", r.roleArn());
        if (r.effect() == RuleConfig.Effect.DENY) {
          warn(p + ".roleArn", r.roleArn(), "is ignored on a deny rule");
        }
      }
      RuleConfig.Resource res = r.resource();
      // A typo in a name glob or in a tag key or value leaves the rule inert. A deny that names
      // tags only is exempt: it is the guard written ahead of the endpoints it is for (the
      // environments' configs share "contractors never reach env=prod").
      boolean tagsCount = r.effect() != RuleConfig.Effect.DENY && !res.tags().isEmpty();
      if ((!res.endpoints().isEmpty() || tagsCount)
          && !config.endpoints().isEmpty()
          && config.endpoints().stream().noneMatch(e -> canMatch(r, e))) {
        warn(
            p + ".resource",
            res,
            describe(res)
                + " match none of the configured endpoints ("
                + endpointNames(config)
                + ")");
      }
    }
    if (!anyAllow) {
      warn("rules", null, "no allow rule: every request will be denied");
    }
  }

  // ---------------------------------------------------------------- helpers

  /** Whether the rule's resource part can match the endpoint (ignoring who asks and how). */
  static boolean canMatch(RuleConfig r, EndpointConfig e) {
    try {
      boolean name =
          r.resource().endpoints().isEmpty()
              || r.resource().endpoints().stream()
                  .anyMatch(g -> Glob.compile(g, true).matches(e.name()));
      return name
          && r.resource().tags().entrySet().stream()
              .allMatch(
                  t ->
                      t.getValue().stream()
                          .anyMatch(g -> Glob.compile(g, false).matches(e.tags().get(t.getKey()))));
    } catch (IllegalArgumentException badGlob) {
      return false; // reported as its own error
    }
  }

  /** A resource as written: {@code endpoints ['fraud-*'] and tags {env: ['prod']}}. */
  private static String describe(RuleConfig.Resource res) {
    List<String> parts = new ArrayList<>();
    if (!res.endpoints().isEmpty()) {
      parts.add("endpoints " + quoted(res.endpoints()));
    }
    if (!res.tags().isEmpty()) {
      parts.add(
          "tags {"
              + res.tags().entrySet().stream()
                  .sorted(Map.Entry.comparingByKey())
                  .map(t -> t.getKey() + ": " + quoted(t.getValue()))
                  .collect(java.util.stream.Collectors.joining(", "))
              + "}");
    }
    return String.join(" and ", parts);
  }

  private static String quoted(List<String> values) {
    return values.stream()
        .map(ConfigValidator::quote)
        .collect(java.util.stream.Collectors.joining(", ", "[", "]"));
  }

  private static String endpointNames(GatewayConfig config) {
    List<String> names = config.endpoints().stream().map(EndpointConfig::name).toList();
    return names.size() <= 10
        ? String.join(", ", names)
        : String.join(", ", names.subList(0, 10)) + ", ... " + (names.size() - 10) + " more";
  }

  private void globs(String field, List<String> patterns) {
    for (int i = 0; i < patterns.size(); i++) {
      if (patterns.get(i) == null || patterns.get(i).isEmpty()) {
        error(field + "[" + i + "]", patterns.get(i), "a pattern must not be empty");
      }
    }
  }

  private void nonEmptyGlobs(String field, List<String> patterns) {
    if (patterns == null || patterns.isEmpty()) {
      error(field, patterns, "needs at least one pattern");
      return;
    }
    globs(field, patterns);
  }

  private void port(String field, int port) {
    if (port < 0 || port > 65535) {
      error(field, port, port + " is not a port (0 to 65535)");
    }
  }

  /** A number written as 0 or less is replaced by its default in the record; say so instead. */
  private void positive(@Nullable JsonNode root, String section, String name) {
    positive(root == null ? null : root.path(section), null, name, section + "." + name);
  }

  private void positive(
      @Nullable JsonNode parent, @Nullable String child, String name, String field) {
    if (parent == null) {
      return;
    }
    JsonNode n = child == null ? parent.path(name) : parent.path(child).path(name);
    if (n.isNumber() && n.asLong() <= 0) {
      error(field, n.numberValue(), n.asText() + " must be greater than 0");
    }
  }

  private void positiveDuration(String field, Duration d) {
    if (d != null && (d.isZero() || d.isNegative())) {
      error(field, d, quote(d) + " must be longer than 0");
    }
  }

  private void notBlank(String field, @Nullable String value) {
    if (value == null || value.isBlank()) {
      error(field, value, "must not be empty");
    }
  }

  /** Reports an error unless {@code value} is an http(s) URL with a host; returns whether it is. */
  private boolean url(String field, String value) {
    String shown = ContainerUrl.redacted(value); // a password in the URL is never printed
    try {
      URI u = new URI(value);
      String scheme = u.getScheme() == null ? "" : u.getScheme().toLowerCase(Locale.ROOT);
      // getHost() is null for names java.net.URI finds unusual (model_server): use the authority.
      String host = u.getHost() != null ? u.getHost() : u.getRawAuthority();
      if (!(scheme.equals("http") || scheme.equals("https")) || host == null || host.isBlank()) {
        error(field, shown, quote(shown) + " is not an http(s) URL with a host");
        return false;
      }
      return true;
    } catch (URISyntaxException e) {
      error(field, shown, quote(shown) + " is not a URL: " + e.getReason());
      return false;
    }
  }

  private void roleArn(String field, String value) {
    if (!ROLE_ARN.matcher(value).matches()) {
      error(
          field,
          value,
          quote(value) + " is not an IAM role ARN (arn:aws:iam::123456789012:role/name)");
    }
  }

  private void s3(String field, String value) {
    if (value == null || !value.startsWith("s3://") || value.length() <= "s3://".length()) {
      error(field, value, quote(value) + " is not an S3 location (s3://bucket/prefix)");
    }
  }

  private void error(String field, @Nullable Object value, String message) {
    if (!suppressed(field)) {
      errors.add(new ConfigError(file, field, value, message));
    }
  }

  private void warn(String field, @Nullable Object value, String message) {
    warnings.add(new ConfigError(file, field, value, message));
  }

  private boolean suppressed(String field) {
    for (String r : alreadyReported) {
      if (field.equals(r)
          || field.startsWith(r + ".")
          || field.startsWith(r + "[")
          || r.startsWith(field + ".") && field.contains("[")) {
        return true;
      }
    }
    return false;
  }

  private static boolean present(@Nullable String s) {
    return given(s) != null;
  }

  /** {@code s} when it is set and not blank, else null: the value a check then reads. */
  private static @Nullable String given(@Nullable String s) {
    return s == null || s.isBlank() ? null : s;
  }

  static String quote(Object value) {
    return "'" + (value instanceof Duration d ? human(d) : value) + "'";
  }

  /** A duration as it would be written in the file: 13h, 90s, 500ms. */
  static String human(Duration d) {
    long ms = d.toMillis();
    if (ms != 0 && ms % 3_600_000 == 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms != 0 && ms % 60_000 == 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  private static int[] identity(int n) {
    int[] a = new int[n];
    for (int i = 0; i < n; i++) {
      a[i] = i;
    }
    return a;
  }
}
