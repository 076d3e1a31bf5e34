package io.sagegate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ConfigLoaderTest {

  private static final String FILE = "conf/x.yaml";

  @Test
  void localYamlLoadsAndEqualsTheEmbeddedDefault() throws Exception {
    GatewayConfig local = ConfigLoader.load(Path.of("conf/local.yaml"));
    assertEquals(local, ConfigLoader.embeddedDefault());
    assertEquals(8080, local.server().port());
    assertEquals(9464, local.server().managementPort());
    assertTrue(local.auth().devIssuer());
    assertEquals(Duration.ofSeconds(30), local.auth().leeway());
    assertEquals(List.of("sagegate"), local.auth().audiences());
    assertEquals(
        List.of("fraud-scorer", "sentiment-test"),
        local.endpoints().stream().map(EndpointConfig::name).toList());
    assertEquals(Map.of("env", "prod", "team", "risk"), local.endpoints().get(0).tags());
    assertEquals("demo", local.endpoints().get(0).backend().type());
    RuleConfig deny = local.rules().get(0);
    assertEquals("contractors-deny-prod", deny.id());
    assertEquals(RuleConfig.Effect.DENY, deny.effect());
    assertEquals(List.of("contractors"), deny.principal().groups());
    assertEquals(Map.of("env", List.of("prod")), deny.resource().tags());
    assertEquals(4, local.rules().size());
  }

  @Test
  void readsDurationsInEveryForm() throws Exception {
    GatewayConfig c =
        ConfigLoader.parse(
            """
        server: {idleTimeout: 500ms}
        auth: {devIssuer: true, leeway: PT45S, keyRefreshInterval: 10m, minKeyRefreshInterval: 1h}
        aws: {sessionDuration: 2h, refreshAhead: 90s}
        """,
            FILE);
    assertEquals(Duration.ofMillis(500), c.server().idleTimeout());
    assertEquals(Duration.ofSeconds(45), c.auth().leeway());
    assertEquals(Duration.ofMinutes(10), c.auth().keyRefreshInterval());
    assertEquals(Duration.ofHours(1), c.auth().minKeyRefreshInterval());
    assertEquals(Duration.ofHours(2), c.aws().sessionDuration());
    assertEquals(Duration.ofSeconds(90), c.aws().refreshAhead());
  }

  @Test
  void acceptsCaseInsensitiveEnumsSingleValuesAsListsAndFullRules() throws Exception {
    GatewayConfig c =
        ConfigLoader.parse(
            """
        auth: {issuer: https://idp.example.com, jwksUri: https://idp.example.com/jwks, audiences: gw}
        aws: {region: eu-west-1, sessionTags: {team: team}}
        endpoints:
          - name: Fraud-Scorer-2
            tags: {env: prod}
            backend: {type: sagemaker, roleArn: "arn:aws:iam::123456789012:role/invoke"}
          - name: local
            backend: {type: container, url: "http://127.0.0.1:8080", timeout: 5s}
        rules:
          - id: r1
            effect: ALLOW
            principal: {groups: analysts, claims: {realm_access.roles: [a, b]}}
            resource: {tags: {env: prod}}
            actions: invoke
            conditions: {sourceCidrs: [10.0.0.0/8, "2001:db8::/32"], targetVariants: blue,
                         inputLocations: ["s3://bucket/in/"]}
            roleArn: "arn:aws-us-gov:iam::123456789012:role/path/invoke"
        """,
            FILE);
    assertEquals(List.of("gw"), c.auth().audiences());
    RuleConfig r = c.rules().get(0);
    assertEquals(RuleConfig.Effect.ALLOW, r.effect());
    assertEquals(List.of("analysts"), r.principal().groups());
    assertEquals(Map.of("realm_access.roles", List.of("a", "b")), r.principal().claims());
    assertEquals(Map.of("env", List.of("prod")), r.resource().tags());
    assertEquals(List.of("invoke"), r.actions());
    assertEquals(List.of("blue"), r.conditions().targetVariants());
    assertEquals(Duration.ofSeconds(5), c.endpoints().get(1).backend().timeout());
    assertEquals(Map.of("team", "team"), c.aws().sessionTags());
  }

  @Test
  void reportsEveryErrorWithFileFieldAndValue() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        server: {port: 70000, managementPort: 9464, maxBodyBytes: -1}
        auth: {discoveryUrl: "https://idp/.well-known/openid-configuration", jwksUri: "https://idp/jwks",
               algorithms: [RS256, none, HS256]}
        endpoints:
          - name: bad_name
            backend: {type: lambda}
          - name: BAD-NAME
            tags: {env: ""}
            backend: {type: container, url: "ftp://x"}
          - name: bad-name
            backend: {type: container}
        rules:
          - id: r1
            effect: allow
            actions: [invoke, fly]
            conditions: {sourceCidrs: [10.0.0.0/33, not-an-ip], inputLocations: [bucket/x]}
            roleArn: arn:aws:iam::12:role/x
          - id: r1
            effect: alow
            principal: {groups: [""]}
          - effect: deny
        """,
                    FILE));
    List<String> lines = List.of(e.getMessage().split("\n"));
    assertContains(lines, "conf/x.yaml: server.port: 70000 is not a port (0 to 65535)");
    assertContains(lines, "conf/x.yaml: server.maxBodyBytes: -1 must be greater than 0");
    assertContains(lines, "conf/x.yaml: auth: more than one key source (discoveryUrl, jwksUri)");
    assertContains(lines, "conf/x.yaml: auth.issuer: required");
    assertContains(lines, "conf/x.yaml: auth.algorithms[1]: 'none' is not allowed");
    assertContains(lines, "conf/x.yaml: auth.algorithms[2]: 'HS256' is not allowed");
    assertContains(
        lines, "conf/x.yaml: endpoints[0].name: 'bad_name' is not a SageMaker endpoint name");
    assertContains(
        lines,
        "conf/x.yaml: endpoints[0].backend.type: 'lambda' is not one of container, demo, sagemaker");
    assertContains(lines, "conf/x.yaml: endpoints[1].tags.env: must not be empty");
    assertContains(lines, "conf/x.yaml: endpoints[1].backend.url: 'ftp://x' is not an http(s) URL");
    assertContains(
        lines, "conf/x.yaml: endpoints[2].name: 'bad-name' is already the name of endpoints[1]");
    assertContains(lines, "conf/x.yaml: endpoints[2].backend.url: required");
    assertContains(
        lines,
        "conf/x.yaml: rules[0].actions[1]: 'fly' is not one of invoke, invoke-stream, invoke-async, *");
    assertContains(
        lines, "conf/x.yaml: rules[0].conditions.sourceCidrs[0]: '10.0.0.0/33' is not a CIDR");
    assertContains(
        lines, "conf/x.yaml: rules[0].conditions.sourceCidrs[1]: 'not-an-ip' is not a CIDR");
    assertContains(
        lines,
        "conf/x.yaml: rules[0].conditions.inputLocations[0]: 'bucket/x' is not an S3 location");
    assertContains(
        lines, "conf/x.yaml: rules[0].roleArn: 'arn:aws:iam::12:role/x' is not an IAM role ARN");
    assertContains(lines, "conf/x.yaml: rules[1].effect: 'alow' is not one of allow, deny");
    assertContains(lines, "conf/x.yaml: rules[1].id: 'r1' is already the id of rules[0]");
    assertContains(lines, "conf/x.yaml: rules[1].principal.groups[0]: a pattern must not be empty");
    assertContains(lines, "conf/x.yaml: rules[2].id: required");
    // Each error carries its parts separately too.
    ConfigError effect =
        e.errors().stream()
            .filter(x -> x.field().equals("rules[1].effect"))
            .findFirst()
            .orElseThrow();
    assertEquals(FILE, effect.file());
    assertEquals("alow", effect.value());
    // Every line is one error, and the one-per-line message lists them all.
    assertEquals(e.errors().size(), lines.size());
    assertTrue(lines.size() >= 21, () -> "expected every error, got:\n" + e.getMessage());
  }

  @Test
  void reportsWrongTypesUnknownFieldsAndBadDurationsWithTheirPaths() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        server: {port: eighty, managementPort: [1]}
        auth: {devIssuer: true, leeway: 30 seconds, keyRefreshInterval: 10, tokenCacheSize: lots}
        audit: {sink: syslog}
        endpoints:
          - name: ok
            backend: {type: demo, timout: 5s}
        rules:
          - id: r
            efect: allow
            principal: {groups: {a: b}}
        extra: 1
        """,
                    FILE));
    List<String> lines = List.of(e.getMessage().split("\n"));
    assertContains(
        lines, "conf/x.yaml: server.port: expected a whole number, not a string 'eighty'");
    assertContains(
        lines, "conf/x.yaml: server.managementPort: expected a whole number, not a list");
    assertContains(lines, "conf/x.yaml: auth.leeway: '30 seconds' is not a duration");
    assertContains(lines, "conf/x.yaml: auth.keyRefreshInterval: '10' is not a duration");
    assertContains(
        lines, "conf/x.yaml: auth.tokenCacheSize: expected a whole number, not a string 'lots'");
    assertContains(lines, "conf/x.yaml: audit.sink: 'syslog' is not one of stdout, file");
    assertContains(
        lines, "conf/x.yaml: endpoints[0].backend.timout: unknown field (did you mean 'timeout'?)");
    assertContains(lines, "conf/x.yaml: rules[0].efect: unknown field (did you mean 'effect'?)");
    assertContains(lines, "conf/x.yaml: rules[0].principal.groups: expected a list, not a mapping");
    assertContains(lines, "conf/x.yaml: extra: unknown section");
    assertFalse(e.getMessage().contains("Exception"), e.getMessage());
    assertFalse(e.getMessage().contains("\tat "), e.getMessage());
  }

  @Test
  void followUpErrorsAreNotInventedAndStrictnessHolds() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        server: {port: 8080.5}
        auth: {devIssuer: "yes"}
        aws: {region: eu-west-1, sessionDuration: 13h}
        rules:
          - id: r
            effect:
        """,
                    FILE));
    List<String> lines = List.of(e.getMessage().split("\n"));
    assertContains(
        lines, "conf/x.yaml: server.port: expected a whole number, not a number '8080.5'");
    assertContains(
        lines, "conf/x.yaml: auth.devIssuer: expected true or false, not a string 'yes'");
    assertContains(lines, "conf/x.yaml: aws.sessionDuration: '13h' is outside STS's 15m to 12h");
    assertContains(lines, "conf/x.yaml: rules[0].effect: required");
    assertEquals(4, lines.size(), e.getMessage());

    ConfigException dup =
        assertThrows(
            ConfigException.class,
            () -> ConfigLoader.parse("rules:\n  - id: a\n    id: b\n", FILE));
    assertTrue(dup.getMessage().contains("Duplicate field 'id'"), dup.getMessage());
  }

  @Test
  void aKeyWithoutAValueMeansTheDefault() throws Exception {
    GatewayConfig c =
        ConfigLoader.parse(
            """
        server:
        endpoints: [{name: a, backend: {type: demo}}]
        rules:
          - id: r
            effect: allow
            principal:
            actions:
        """,
            FILE);
    assertEquals(ServerSettings.defaults(), c.server());
    assertEquals(RuleConfig.Principal.ANY, c.rules().get(0).principal());
    assertEquals(List.of("*"), c.rules().get(0).actions());
  }

  @Test
  void aTagOrClaimWithoutAValueIsAnErrorNotAWiderRule() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        endpoints: [{name: a, tags: {env: }, backend: {type: demo}}]
        rules:
          - id: r
            effect: allow
            principal: {claims: {department: }}
            resource: {tags: {env: }}
        """,
                    FILE));
    List<String> lines = List.of(e.getMessage().split("\n"));
    assertContains(lines, "conf/x.yaml: endpoints[0].tags.env: no value");
    assertContains(lines, "conf/x.yaml: rules[0].principal.claims.department: no value");
    assertContains(lines, "conf/x.yaml: rules[0].resource.tags.env: no value");
    assertEquals(3, lines.size(), e.getMessage());
  }

  @Test
  void anAllowRuleForEveryCallerIsAWarning() throws Exception {
    ConfigLoader.Loaded loaded =
        ConfigLoader.read(
            """
        endpoints: [{name: a, backend: {type: demo}}]
        rules: [{id: open, effect: allow, resource: {endpoints: [a]}}]
        """,
            FILE);
    assertContains(
        loaded.warnings().stream().map(ConfigError::toString).toList(),
        "conf/x.yaml: rules[0].principal: not set: the rule allows every authenticated caller");
  }

  @Test
  void recordConstructorRefusalsComeOutAsErrorsWithTheirField() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        audit: {sink: file}
        endpoints:
          - {name: a, backend: {type: container, url: "http://model_server:8080"}}
          - {name: b, backend: {type: container, url: "http:///x"}}
        rules: [{id: r, effect: allow, principal: {groups: [g]}}]
        """,
                    FILE));
    List<String> lines = List.of(e.getMessage().split("\n"));
    assertContains(lines, "conf/x.yaml: audit.file: required when audit.sink is file");
    assertContains(
        lines, "conf/x.yaml: endpoints[1].backend.url: 'http:///x' is not an http(s) URL");
    assertEquals(2, lines.size(), "a docker-compose style host name is fine: " + e.getMessage());
  }

  @Test
  void aContainerUrlTheBackendCannotCallIsAnErrorOfCheckNotOfTheStart() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        endpoints:
          - {name: a, backend: {type: container, url: "http://model_server:99999"}}
          - {name: b, backend: {type: container, url: "http://user:secret@model_server:8080"}}
          - {name: c, backend: {type: container, url: "http://model_server:8080/v1"}}
        rules: [{id: r, effect: allow, principal: {groups: [g]}}]
        """,
                    FILE));
    List<String> lines = List.of(e.getMessage().split("\n"));
    assertContains(
        lines,
        "conf/x.yaml: endpoints[0].backend.url: 'http://model_server:99999': port 99999 is out of range");
    assertContains(
        lines,
        "conf/x.yaml: endpoints[1].backend.url: 'http://***@model_server:8080': must not carry user");
    assertFalse(
        e.getMessage().contains("secret"), "the password is not printed: " + e.getMessage());
    assertEquals(2, lines.size(), e.getMessage());
  }

  @Test
  void malformedYamlNamesTheLine() {
    ConfigException e =
        assertThrows(
            ConfigException.class, () -> ConfigLoader.parse("rules:\n  - id: [unclosed\n", FILE));
    assertEquals(1, e.errors().size());
    assertTrue(e.getMessage().startsWith("conf/x.yaml: not valid YAML: line "), e.getMessage());
  }

  @Test
  void emptyOrScalarFilesAreErrors() {
    assertThrows(ConfigException.class, () -> ConfigLoader.parse("", FILE));
    ConfigException e =
        assertThrows(ConfigException.class, () -> ConfigLoader.parse("hello", FILE));
    assertTrue(e.getMessage().contains("expected a mapping"), e.getMessage());
  }

  @Test
  void missingFileIsAConfigError() {
    ConfigException e =
        assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("no/such/file.yaml")));
    assertTrue(
        e.getMessage().startsWith("no/such/file.yaml: cannot read the file"), e.getMessage());
  }

  @Test
  void rulesThatAllowNothingAreAWarningNotAnError() throws Exception {
    ConfigLoader.Loaded loaded =
        ConfigLoader.read(
            """
        endpoints: [{name: a, backend: {type: demo}}]
        rules: [{id: d, effect: deny}]
        """,
            FILE);
    assertEquals(1, loaded.config().rules().size());
    assertContains(
        loaded.warnings().stream().map(ConfigError::toString).toList(),
        "conf/x.yaml: rules: no allow rule");
  }

  @Test
  void aRuleWhoseResourceMatchesNoEndpointIsAWarningNamingItsPatterns() throws Exception {
    ConfigLoader.Loaded loaded =
        ConfigLoader.read(
            """
        endpoints: [{name: fraud-scorer, tags: {env: prod}, backend: {type: demo}}]
        rules:
          - {id: by-name, effect: allow, principal: {groups: [g]}, resource: {endpoints: [fruad-*]}}
          - {id: by-tag, effect: allow, principal: {groups: [g]}, resource: {tags: {env: [prdo]}}}
          - {id: by-missing-tag, effect: allow, principal: {groups: [g]}, resource: {tags: {team: [risk]}}}
          - {id: fine, effect: allow, principal: {groups: [g]}, resource: {tags: {env: [prod]}}}
          - {id: guard, effect: deny, principal: {groups: [g]}, resource: {tags: {env: [staging]}}}
          - {id: deny-by-name, effect: deny, resource: {endpoints: [fruad-*], tags: {env: [prod]}}}
        """,
            FILE);
    List<String> warnings = loaded.warnings().stream().map(ConfigError::toString).toList();
    assertContains(
        warnings,
        "conf/x.yaml: rules[0].resource: endpoints ['fruad-*'] match none of"
            + " the configured endpoints (fraud-scorer)");
    assertContains(
        warnings,
        "conf/x.yaml: rules[1].resource: tags {env: ['prdo']} match none of"
            + " the configured endpoints (fraud-scorer)");
    assertContains(
        warnings,
        "conf/x.yaml: rules[2].resource: tags {team: ['risk']} match none of"
            + " the configured endpoints (fraud-scorer)");
    assertContains(
        warnings,
        "conf/x.yaml: rules[5].resource: endpoints ['fruad-*'] and tags"
            + " {env: ['prod']} match none of the configured endpoints (fraud-scorer)");
    // A rule that matches, and a deny by tags only (a guard for endpoints yet to come), do not
    // warn.
    assertTrue(
        warnings.stream()
            .noneMatch(
                w ->
                    w.startsWith("conf/x.yaml: rules[3]") || w.startsWith("conf/x.yaml: rules[4]")),
        warnings::toString);
  }

  @Test
  void aDenyOnTargetVariantsWarnsThatARequestNamingNoVariantEscapesIt() throws Exception {
    // Without the header SageMaker routes by variant weight, perhaps to the denied variant.
    ConfigLoader.Loaded loaded =
        ConfigLoader.read(
            """
        endpoints: [{name: a, backend: {type: demo}}]
        rules:
          - {id: no-canary, effect: deny, principal: {groups: [g]}, conditions: {targetVariants: [canary-*]}}
          - {id: blue-only, effect: allow, principal: {groups: [g]}, conditions: {targetVariants: [blue]}}
        """,
            FILE);
    List<String> warnings = loaded.warnings().stream().map(ConfigError::toString).toList();
    assertContains(
        warnings,
        "conf/x.yaml: rules[0].conditions.targetVariants: this deny on"
            + " ['canary-*'] does not apply to a request that names no variant");
    assertTrue(
        warnings.stream().noneMatch(w -> w.startsWith("conf/x.yaml: rules[1]")),
        warnings::toString);
  }

  @Test
  void anInputLocationConditionOnARuleWithoutAsyncWarnsThatItNeverMatches() throws Exception {
    ConfigLoader.Loaded loaded =
        ConfigLoader.read(
            """
        endpoints: [{name: a, backend: {type: demo}}]
        rules:
          - {id: sync-only, effect: allow, principal: {groups: [g]}, actions: [invoke], conditions: {inputLocations: ["s3://b/in/"]}}
          - {id: async, effect: allow, principal: {groups: [g]}, actions: [invoke-async], conditions: {inputLocations: ["s3://b/in/"]}}
          - {id: any, effect: deny, conditions: {inputLocations: ["s3://b/secret/"]}}
        """,
            FILE);
    List<String> warnings = loaded.warnings().stream().map(ConfigError::toString).toList();
    assertContains(
        warnings,
        "conf/x.yaml: rules[0].conditions.inputLocations: only an"
            + " invoke-async call has an input location");
    assertTrue(
        warnings.stream()
            .noneMatch(
                w ->
                    w.startsWith("conf/x.yaml: rules[1]") || w.startsWith("conf/x.yaml: rules[2]")),
        warnings::toString);
  }

  @Test
  void sagemakerBackendNeedsARegionAndWarnsWithoutARole() throws Exception {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        endpoints: [{name: a, backend: {type: sagemaker}}]
        rules: [{id: r, effect: allow}]
        """,
                    FILE));
    assertContains(List.of(e.getMessage().split("\n")), "conf/x.yaml: aws.region: required");
    ConfigLoader.Loaded loaded =
        ConfigLoader.read(
            """
        aws: {region: us-east-1}
        endpoints: [{name: a, backend: {type: sagemaker}}]
        rules: [{id: r, effect: allow}]
        """,
            FILE);
    assertContains(
        loaded.warnings().stream().map(ConfigError::toString).toList(),
        "conf/x.yaml: endpoints[0].backend.roleArn: not set, and allow rule 'r'");
  }

  @Test
  void endpointNamesLongerThanSageMakerAllowsAreRejected() {
    String name = "a".repeat(64);
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    "endpoints: [{name: "
                        + name
                        + ", backend: {type: demo}}]\nrules: [{id: r, effect: allow}]",
                    FILE));
    assertContains(
        List.of(e.getMessage().split("\n")),
        "conf/x.yaml: endpoints[0].name: '" + name + "' is 64 characters");
  }

  @Test
  void trustedProxiesAreCidrsAndNoneByDefault() throws Exception {
    assertEquals(List.of(), ConfigLoader.embeddedDefault().server().trustedProxies());
    GatewayConfig c =
        ConfigLoader.parse(
            """
        server: {trustedProxies: [10.0.0.0/8, "fd00::/8", 192.168.1.10]}
        rules: [{id: r, effect: allow, principal: {groups: [g]}}]
        """,
            FILE);
    assertEquals(List.of("10.0.0.0/8", "fd00::/8", "192.168.1.10"), c.server().trustedProxies());
    assertEquals(
        List.of("10.0.0.1/32"),
        ConfigLoader.parse(
                "server: {trustedProxies: 10.0.0.1/32}\n"
                    + "rules: [{id: r, effect: allow, principal: {groups: [g]}}]",
                FILE)
            .server()
            .trustedProxies(),
        "a single value is a one-element list");

    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        server: {trustedProxies: [10.0.0.0/8, 10.0.0.0/33, ingress.local, ""]}
        """,
                    FILE));
    List<String> lines = List.of(e.getMessage().split("\n"));
    assertContains(lines, "conf/x.yaml: server.trustedProxies[1]: '10.0.0.0/33' is not a CIDR");
    assertContains(lines, "conf/x.yaml: server.trustedProxies[2]: 'ingress.local' is not a CIDR");
    assertContains(lines, "conf/x.yaml: server.trustedProxies[3]: '' is not a CIDR");
    ConfigError bad =
        e.errors().stream()
            .filter(x -> x.field().equals("server.trustedProxies[2]"))
            .findFirst()
            .orElseThrow();
    assertEquals("ingress.local", bad.value());

    ConfigLoader.Loaded everyone =
        ConfigLoader.read(
            """
        server: {trustedProxies: [0.0.0.0/0]}
        rules: [{id: r, effect: allow, principal: {groups: [g]}}]
        """,
            FILE);
    assertContains(
        everyone.warnings().stream().map(ConfigError::toString).toList(),
        "conf/x.yaml: server.trustedProxies[0]: '0.0.0.0/0' trusts every address");
    // The same network written IPv4-mapped: a warning too, whatever the text.
    ConfigLoader.Loaded mapped =
        ConfigLoader.read(
            """
        server: {trustedProxies: ["::ffff:0.0.0.0/96", "::/0"]}
        rules: [{id: r, effect: allow, principal: {groups: [g]}}]
        """,
            FILE);
    List<String> warnings = mapped.warnings().stream().map(ConfigError::toString).toList();
    assertContains(
        warnings,
        "conf/x.yaml: server.trustedProxies[0]: '::ffff:0.0.0.0/96' trusts every address");
    assertContains(warnings, "conf/x.yaml: server.trustedProxies[1]: '::/0' trusts every address");
  }

  /**
   * STS's AssumeRole limits (botocore's sts model) are checked by check, not met on every request
   * as a ValidationError: ExternalId 2..1224 of [\\w+=,.@:/-]; session tag keys 1..128 of
   * [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@], not aws:, unique ignoring case (STS compares tag keys
   * case-insensitively), at most 50.
   */
  @Test
  void stsAssumeRoleLimitsAreCheckedAtLoad() throws Exception {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        aws:
          region: eu-west-1
          externalId: "x"
          sessionTags: {Team: team, team: group, "a*b": c, "aws:x": d}
        """,
                    FILE));
    List<String> lines = List.of(e.getMessage().split("\n"));
    assertContains(lines, "conf/x.yaml: aws.externalId: ");
    assertContains(lines, "conf/x.yaml: aws.sessionTags: 'Team' and 'team' ");
    assertContains(lines, "conf/x.yaml: aws.sessionTags.a*b: ");
    assertContains(lines, "conf/x.yaml: aws.sessionTags.aws:x: ");
    assertFalse(
        e.getMessage().contains("'x'"), "the ExternalId's value is not echoed: " + e.getMessage());

    ConfigException bad =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse("aws: {region: eu-west-1, externalId: \"has space\"}\n", FILE));
    assertContains(List.of(bad.getMessage().split("\n")), "conf/x.yaml: aws.externalId: ");

    StringBuilder many = new StringBuilder("aws:\n  region: eu-west-1\n  sessionTags:\n");
    for (int i = 0; i < 51; i++) {
      many.append("    k").append(i).append(": c").append(i).append('\n');
    }
    ConfigException tooMany =
        assertThrows(ConfigException.class, () -> ConfigLoader.parse(many.toString(), FILE));
    assertContains(
        List.of(tooMany.getMessage().split("\n")), "conf/x.yaml: aws.sessionTags: 51 tags");

    GatewayConfig ok =
        ConfigLoader.parse(
            """
        aws: {region: eu-west-1, externalId: "sagegate-prod:1=a,b.c@d/e+f", sessionTags: {"team name": team}}
        rules: [{id: r, effect: allow, principal: {groups: [g]}}]
        """,
            FILE);
    assertEquals("sagegate-prod:1=a,b.c@d/e+f", ok.aws().externalId());
  }

  static void assertContains(List<String> lines, String prefix) {
    assertTrue(
        lines.stream().anyMatch(l -> l.startsWith(prefix)),
        () ->
            "no line starting with\n  "
                + prefix
                + "\nin\n"
                + lines.stream().map(l -> "  " + l).collect(Collectors.joining("\n")));
  }
}
