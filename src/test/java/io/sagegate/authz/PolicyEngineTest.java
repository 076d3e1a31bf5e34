package io.sagegate.authz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.auth.Caller;
import io.sagegate.config.ClaimMapping;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.match.Cidr;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyEngineTest {

  private static final GatewayConfig DEMO = ConfigLoader.embeddedDefault();
  private static final PolicyEngine DEMO_ENGINE = new PolicyEngine(DEMO.rules());

  // ------------------------------------------------------------ the demo scenario

  @Test
  void dataScientistsReachTestEndpointsOnly() {
    assertAllowed("data-scientists-test", demo("sentiment-test", "data-scientists"));
    assertDefaultDeny(demo("fraud-scorer", "data-scientists"));
  }

  @Test
  void analystsReachTheFraudScorerOnly() {
    assertAllowed("analysts-fraud-scorer", demo("fraud-scorer", "analysts"));
    assertDefaultDeny(demo("sentiment-test", "analysts"));
  }

  @Test
  void mlEngineersReachBoth() {
    assertAllowed("ml-engineers-all", demo("fraud-scorer", "ml-engineers"));
    assertAllowed("ml-engineers-all", demo("sentiment-test", "ml-engineers"));
  }

  @Test
  void contractorDenyWinsOverEveryAllow() {
    Decision d = DEMO_ENGINE.decide(demo("fraud-scorer", "contractors", "ml-engineers"));
    assertFalse(d.allowed());
    assertEquals("contractors-deny-prod", d.ruleId());
    assertEquals("explicitly denied by rule contractors-deny-prod", d.reason());
    assertAllowed("ml-engineers-all", demo("sentiment-test", "contractors", "ml-engineers"));
    assertEquals(
        List.of("contractors-deny-prod", "ml-engineers-all"),
        DEMO_ENGINE.matching(demo("fraud-scorer", "contractors", "ml-engineers")).stream()
            .map(RuleConfig::id)
            .toList());
  }

  @Test
  void nobodyGetsDefaultDeny() {
    assertDefaultDeny(demo("fraud-scorer"));
    assertDefaultDeny(demo("sentiment-test"));
    assertDefaultDeny(demo("fraud-scorer", "nobody"));
    Caller none = Caller.fromClaims(Map.of(), ClaimMapping.defaults());
    assertDefaultDeny(request(DEMO.endpoint("fraud-scorer").orElseThrow(), none, Action.INVOKE));
  }

  @Test
  void evaluateNamesWhatFailed() {
    List<PolicyEngine.RuleMatch> eval = DEMO_ENGINE.evaluate(demo("fraud-scorer", "analysts"));
    assertEquals("principal.groups", eval.get(0).failedOn());
    assertEquals("principal.groups", eval.get(1).failedOn());
    assertTrue(eval.get(2).matched());
    assertEquals("principal.groups", eval.get(3).failedOn());
  }

  // ------------------------------------------------------------ each matcher

  @Test
  void subjectGlobs() {
    PolicyEngine e =
        engine(
            allow(
                "svc",
                principal(List.of("svc-*", "bob?"), null, null, null, null),
                null,
                null,
                null));
    assertTrue(e.decide(req(caller("svc-batch", Map.of()))).allowed());
    assertTrue(e.decide(req(caller("bob1", Map.of()))).allowed());
    assertFalse(e.decide(req(caller("bob", Map.of()))).allowed());
    assertFalse(e.decide(req(caller("bob12", Map.of()))).allowed());
    assertFalse(
        e.decide(req(caller("Svc-batch", Map.of()))).allowed(), "subjects are case-sensitive");
    assertFalse(e.decide(req(caller(null, Map.of()))).allowed());
  }

  @Test
  void groupsFromNestedClaimsAndCognitoGroups() {
    PolicyEngine e =
        engine(
            allow(
                "admins", principal(null, List.of("admin*"), null, null, null), null, null, null));
    Caller keycloak =
        Caller.fromClaims(
            Map.of("sub", "k", "realm_access", Map.of("roles", List.of("user", "admin-eu"))),
            new ClaimMapping(null, "realm_access.roles", null, null));
    assertTrue(e.decide(req(keycloak)).allowed());
    Caller cognito =
        Caller.fromClaims(
            Map.of("sub", "c", "cognito:groups", List.of("admins")),
            new ClaimMapping(null, "cognito:groups", null, null));
    assertTrue(e.decide(req(cognito)).allowed());
    Caller other =
        Caller.fromClaims(
            Map.of("sub", "c", "cognito:groups", List.of("users")),
            new ClaimMapping(null, "cognito:groups", null, null));
    assertFalse(e.decide(req(other)).allowed());
  }

  @Test
  void claimsMatchNestedPathsWholeNamesAndScalars() {
    PolicyEngine e =
        engine(
            allow(
                "claims",
                principal(
                    null,
                    null,
                    null,
                    null,
                    Map.of(
                        "realm_access.roles",
                        List.of("model-*"),
                        "cognito:groups",
                        List.of("risk"),
                        "email_verified",
                        List.of("true"))),
                null,
                null,
                null));
    Map<String, Object> claims = new HashMap<>();
    claims.put("sub", "x");
    claims.put("realm_access", Map.of("roles", List.of("user", "model-invoker")));
    claims.put("cognito:groups", List.of("risk", "ops"));
    claims.put("email_verified", true);
    assertTrue(e.decide(req(caller("x", claims))).allowed());
    claims.put("email_verified", false);
    assertFalse(e.decide(req(caller("x", claims))).allowed(), "every named claim must match");
    claims.put("email_verified", true);
    claims.put("realm_access", Map.of("roles", List.of("user")));
    assertEquals(
        "principal.claims.realm_access.roles",
        e.evaluate(req(caller("x", claims))).get(0).failedOn());
  }

  @Test
  void scopesAsSpaceSeparatedStringAndTenants() {
    PolicyEngine e =
        engine(
            allow(
                "scoped",
                principal(null, null, List.of("models:invoke"), List.of("acme"), null),
                null,
                null,
                null));
    Caller ok =
        Caller.fromClaims(
            Map.of("sub", "a", "scope", "openid models:invoke profile", "tenant", "acme"),
            ClaimMapping.defaults());
    assertTrue(e.decide(req(ok)).allowed());
    Caller otherTenant =
        Caller.fromClaims(
            Map.of("sub", "a", "scope", "openid models:invoke", "tenant", "globex"),
            ClaimMapping.defaults());
    assertEquals("principal.tenants", e.evaluate(req(otherTenant)).get(0).failedOn());
    Caller noScope =
        Caller.fromClaims(
            Map.of("sub", "a", "scope", "openid", "tenant", "acme"), ClaimMapping.defaults());
    assertEquals("principal.scopes", e.evaluate(req(noScope)).get(0).failedOn());
  }

  @Test
  void tagsNeedEveryKeyWithAMatchingValue() {
    PolicyEngine e =
        engine(
            allow(
                "tags",
                null,
                new RuleConfig.Resource(
                    null, Map.of("env", List.of("test", "dev*"), "team", List.of("risk"))),
                null,
                null));
    Caller c = caller("a", Map.of());
    assertTrue(
        e.decide(request(endpoint("a", Map.of("env", "dev-eu", "team", "risk")), c, Action.INVOKE))
            .allowed());
    assertTrue(
        e.decide(
                request(
                    endpoint("a", Map.of("env", "test", "team", "risk", "x", "y")),
                    c,
                    Action.INVOKE))
            .allowed());
    assertFalse(
        e.decide(request(endpoint("a", Map.of("env", "prod", "team", "risk")), c, Action.INVOKE))
            .allowed());
    assertEquals(
        "resource.tags.team",
        e.evaluate(request(endpoint("a", Map.of("env", "test")), c, Action.INVOKE))
            .get(0)
            .failedOn());
  }

  @Test
  void endpointGlobsIgnoreCase() {
    PolicyEngine e =
        engine(
            allow(
                "fraud",
                null,
                new RuleConfig.Resource(List.of("fraud-*", "Exact-One"), null),
                null,
                null));
    Caller c = caller("a", Map.of());
    assertTrue(e.decide(request(endpoint("Fraud-Scorer", Map.of()), c, Action.INVOKE)).allowed());
    assertTrue(e.decide(request(endpoint("exact-one", Map.of()), c, Action.INVOKE)).allowed());
    assertFalse(e.decide(request(endpoint("sentiment", Map.of()), c, Action.INVOKE)).allowed());
  }

  @Test
  void actionsAndTheWildcard() {
    PolicyEngine e = engine(allow("sync", null, null, List.of("invoke"), null));
    Caller c = caller("a", Map.of());
    EndpointConfig ep = endpoint("a", Map.of());
    assertTrue(e.decide(request(ep, c, Action.INVOKE)).allowed());
    assertFalse(e.decide(request(ep, c, Action.INVOKE_ASYNC)).allowed());
    assertFalse(e.decide(request(ep, c, Action.INVOKE_STREAM)).allowed());
    PolicyEngine any = engine(allow("any", null, null, List.of("*"), null));
    for (Action a : Action.values()) {
      assertTrue(any.decide(request(ep, c, a)).allowed(), a.ruleName());
    }
  }

  @Test
  void sourceCidrsV4AndV6() {
    PolicyEngine e =
        engine(
            allow(
                "office",
                null,
                null,
                null,
                new RuleConfig.Conditions(
                    List.of("10.1.0.0/16", "192.168.1.7", "2001:db8:abcd::/48"),
                    null,
                    null,
                    null,
                    null)));
    assertTrue(e.decide(fromIp("10.1.200.3")).allowed());
    assertFalse(e.decide(fromIp("10.2.0.1")).allowed());
    assertTrue(e.decide(fromIp("192.168.1.7")).allowed());
    assertFalse(e.decide(fromIp("192.168.1.8")).allowed());
    assertTrue(e.decide(fromIp("2001:db8:abcd:12::1")).allowed());
    assertTrue(e.decide(fromIp("[2001:db8:abcd::5]")).allowed());
    assertFalse(e.decide(fromIp("2001:db8:abce::1")).allowed());
    assertTrue(e.decide(fromIp("::ffff:10.1.0.1")).allowed(), "IPv4-mapped IPv6");
    assertFalse(e.decide(fromIp(null)).allowed());
    assertFalse(e.decide(fromIp("not-an-address")).allowed());
    assertFalse(e.decide(fromIp("10.1.2")).allowed());
  }

  @Test
  void cidrPrefixesOnOddBoundaries() {
    Cidr c = Cidr.parse("172.16.0.0/12");
    assertTrue(c.contains("172.31.255.255"));
    assertFalse(c.contains("172.32.0.0"));
    assertTrue(Cidr.parse("0.0.0.0/0").contains("8.8.8.8"));
    assertFalse(Cidr.parse("0.0.0.0/0").contains("::1"), "families do not mix");
    assertTrue(Cidr.parse("::/0").contains("::1"));
    assertThrows(IllegalArgumentException.class, () -> Cidr.parse("10.0.0.0/33"));
    assertThrows(IllegalArgumentException.class, () -> Cidr.parse("256.0.0.0/8"));
    assertThrows(IllegalArgumentException.class, () -> Cidr.parse("example.com/8"));
    assertNull(Cidr.parseAddress("localhost"), "names are never resolved");
  }

  @Test
  void targetConditionsNeedTheRequestToNameAMatchingTarget() {
    PolicyEngine e =
        engine(
            allow(
                "blue",
                null,
                null,
                null,
                new RuleConfig.Conditions(
                    null, List.of("blue-*"), List.of("model-a.tar.gz"), List.of("ic-?"), null)));
    Caller c = caller("a", Map.of());
    EndpointConfig ep = endpoint("a", Map.of());
    assertTrue(
        e.decide(new AccessRequest(c, ep, Action.INVOKE, null, "blue-1", "model-a.tar.gz", "ic-1"))
            .allowed());
    assertEquals(
        "conditions.targetVariants",
        e.evaluate(new AccessRequest(c, ep, Action.INVOKE, null, null, "model-a.tar.gz", "ic-1"))
            .get(0)
            .failedOn());
    assertEquals(
        "conditions.targetModels",
        e.evaluate(
                new AccessRequest(c, ep, Action.INVOKE, null, "blue-1", "model-b.tar.gz", "ic-1"))
            .get(0)
            .failedOn());
    assertEquals(
        "conditions.inferenceComponents",
        e.evaluate(new AccessRequest(c, ep, Action.INVOKE, null, "blue-1", "model-a.tar.gz", null))
            .get(0)
            .failedOn());
    // No condition: a request naming a target or not is the same.
    PolicyEngine open = engine(allow("open", null, null, null, null));
    assertTrue(
        open.decide(new AccessRequest(c, ep, Action.INVOKE, null, "green", null, null)).allowed());
    assertTrue(
        open.decide(new AccessRequest(c, ep, Action.INVOKE, null, null, null, null)).allowed());
  }

  @Test
  void aDenyWithAConditionDeniesOnlyWhereTheConditionHolds() {
    RuleConfig insideDeny =
        new RuleConfig(
            "office-deny",
            RuleConfig.Effect.DENY,
            null,
            null,
            null,
            null,
            new RuleConfig.Conditions(List.of("10.0.0.0/8"), null, null, null, null),
            null);
    RuleConfig tagDeny =
        new RuleConfig(
            "prod-deny",
            RuleConfig.Effect.DENY,
            null,
            null,
            new RuleConfig.Resource(null, Map.of("env", List.of("*"))),
            null,
            null,
            null);
    PolicyEngine e = engine(insideDeny, tagDeny, allow("all", null, null, null, null));
    EndpointConfig untagged = endpoint("a", Map.of());
    Caller c = caller("a", Map.of());
    assertEquals(
        "office-deny",
        e.decide(new AccessRequest(c, untagged, Action.INVOKE, "10.1.2.3", null, null, null))
            .ruleId());
    assertEquals(
        "office-deny",
        e.decide(new AccessRequest(c, untagged, Action.INVOKE, "::ffff:10.1.2.3", null, null, null))
            .ruleId());
    // Outside the CIDR the deny does not apply; an endpoint without the tag is not matched by a
    // tag pattern, not even by *.
    assertEquals(
        "all",
        e.decide(new AccessRequest(c, untagged, Action.INVOKE, "192.0.2.1", null, null, null))
            .ruleId());
    assertEquals(
        "prod-deny",
        e.decide(
                new AccessRequest(
                    c,
                    endpoint("b", Map.of("env", "prod")),
                    Action.INVOKE,
                    "192.0.2.1",
                    null,
                    null,
                    null))
            .ruleId());
  }

  /** inputLocations is part of matching, as every other condition: IAM semantics. */
  @Test
  void inputLocationConditionsArePartOfMatching() {
    RuleConfig.Conditions secret =
        new RuleConfig.Conditions(null, null, null, null, List.of("s3://bucket/fraud/secret/"));
    RuleConfig.Conditions pub =
        new RuleConfig.Conditions(null, null, null, null, List.of("s3://bucket/public/"));
    RuleConfig secretDeny =
        new RuleConfig("secret-deny", RuleConfig.Effect.DENY, null, null, null, null, secret, null);
    EndpointConfig ep = endpoint("a", Map.of());
    Caller c = caller("a", Map.of());
    java.util.function.BiFunction<PolicyEngine, String, String> decide =
        (e, location) ->
            e.decide(
                    new AccessRequest(
                        c,
                        ep,
                        location == null ? Action.INVOKE : Action.INVOKE_ASYNC,
                        null,
                        null,
                        null,
                        null,
                        location))
                .ruleId();

    // A deny on a prefix refuses that prefix only, in either file order.
    PolicyEngine denyFirst = engine(secretDeny, allow("all", null, null, null, null));
    PolicyEngine denyLast = engine(allow("all", null, null, null, null), secretDeny);
    for (PolicyEngine e : List.of(denyFirst, denyLast)) {
      assertEquals("secret-deny", decide.apply(e, "s3://bucket/fraud/secret/k.json"));
      assertEquals("all", decide.apply(e, "s3://bucket/fraud/public/k.json"));
      assertEquals("all", decide.apply(e, null), "a call with no input location");
    }
    // A conditional allow whose condition fails does not block a later unconditional allow.
    PolicyEngine conditionalFirst =
        engine(allow("public-only", null, null, null, pub), allow("all", null, null, null, null));
    assertEquals("all", decide.apply(conditionalFirst, "s3://bucket/private/k.json"));
    assertEquals("public-only", decide.apply(conditionalFirst, "s3://bucket/public/k.json"));
    PolicyEngine conditionalLast =
        engine(allow("all", null, null, null, null), allow("public-only", null, null, null, pub));
    assertEquals("all", decide.apply(conditionalLast, "s3://bucket/private/k.json"));
    assertEquals("all", decide.apply(conditionalLast, "s3://bucket/public/k.json"));
    // Alone, it allows only under its prefix; no tricks get under it.
    PolicyEngine only = engine(allow("public-only", null, null, null, pub));
    assertEquals("default-deny", decide.apply(only, "s3://bucket/private/k.json"));
    assertEquals("default-deny", decide.apply(only, "s3://bucket/public/../private/k.json"));
    assertEquals("default-deny", decide.apply(only, null));
    assertEquals(
        "conditions.inputLocations",
        only.evaluate(
                new AccessRequest(
                    c, ep, Action.INVOKE_ASYNC, null, null, null, null, "s3://other/x"))
            .get(0)
            .failedOn());
  }

  /** The endpoint's own async prefixes refuse what the rules allow, naming themselves. */
  @Test
  void anEndpointsAsyncPrefixesRefuseWhatTheRulesAllow() {
    EndpointConfig sm =
        new EndpointConfig(
            "s",
            Map.of(),
            new io.sagegate.config.BackendConfig(
                "sagemaker", null, null, null, 0, null, null, List.of("s3://bucket/in/")));
    Caller c = caller("a", Map.of());
    PolicyEngine e = engine(allow("all", null, null, null, null));
    AccessRequest inside =
        new AccessRequest(c, sm, Action.INVOKE_ASYNC, null, null, null, null, "s3://bucket/in/x");
    AccessRequest outside =
        new AccessRequest(c, sm, Action.INVOKE_ASYNC, null, null, null, null, "s3://bucket/out/x");
    assertEquals("all", InputLocations.decide(e.decide(inside), inside).ruleId());
    Decision refused = InputLocations.decide(e.decide(outside), outside);
    assertFalse(refused.allowed());
    assertEquals(Decision.INPUT_LOCATION_NOT_ALLOWED, refused.ruleId());
    // A rule's deny is still the rule's.
    PolicyEngine none = engine();
    assertEquals(
        Decision.DEFAULT_DENY, InputLocations.decide(none.decide(outside), outside).ruleId());
  }

  @Test
  void firstMatchingDenyAndFirstMatchingAllowAreNamed() {
    PolicyEngine e =
        engine(
            allow("a1", null, null, null, null),
            new RuleConfig(
                "d1",
                RuleConfig.Effect.DENY,
                null,
                principal(List.of("mallory"), null, null, null, null),
                null,
                null,
                null,
                null),
            allow("a2", null, null, null, null),
            new RuleConfig("d2", RuleConfig.Effect.DENY, null, null, null, null, null, null));
    Decision d = e.decide(req(caller("mallory", Map.of())));
    assertEquals("d1", d.ruleId());
    PolicyEngine allows =
        engine(allow("a1", null, null, null, null), allow("a2", null, null, null, null));
    assertEquals("a1", allows.decide(req(caller("x", Map.of()))).ruleId());
    assertEquals("default-deny", engine().decide(req(caller("x", Map.of()))).ruleId());
  }

  @Test
  void badRulesAreRefusedNamingTheField() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> engine(allow("r", null, null, List.of("fly"), null)));
    assertTrue(e.getMessage().contains("rules[0] (r).actions: 'fly'"), e.getMessage());
    e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                engine(
                    allow(
                        "r",
                        null,
                        null,
                        null,
                        new RuleConfig.Conditions(
                            List.of("10.0.0.0/40"), null, null, null, null))));
    assertTrue(e.getMessage().contains("sourceCidrs[0]"), e.getMessage());
  }

  // ------------------------------------------------------------ helpers

  private static void assertAllowed(String rule, AccessRequest r) {
    Decision d = DEMO_ENGINE.decide(r);
    assertTrue(d.allowed(), () -> "expected allow by " + rule + ", got " + d.reason());
    assertEquals(rule, d.ruleId());
  }

  private static void assertDefaultDeny(AccessRequest r) {
    Decision d = DEMO_ENGINE.decide(r);
    assertFalse(d.allowed());
    assertNull(d.rule());
    assertEquals(Decision.DEFAULT_DENY, d.ruleId());
  }

  private static AccessRequest demo(String endpoint, String... groups) {
    Caller c =
        Caller.fromClaims(
            Map.of("sub", "someone", "groups", List.of(groups)), DEMO.auth().claims());
    return request(DEMO.endpoint(endpoint).orElseThrow(), c, Action.INVOKE);
  }

  private static AccessRequest request(EndpointConfig e, Caller c, Action a) {
    return new AccessRequest(c, e, a, "127.0.0.1", null, null, null);
  }

  private static AccessRequest req(Caller c) {
    return request(endpoint("any", Map.of()), c, Action.INVOKE);
  }

  private static AccessRequest fromIp(String ip) {
    return new AccessRequest(
        caller("a", Map.of()), endpoint("a", Map.of()), Action.INVOKE, ip, null, null, null);
  }

  private static Caller caller(String subject, Map<String, Object> claims) {
    Map<String, Object> all = new HashMap<>(claims);
    if (subject != null) {
      all.put("sub", subject);
    }
    return Caller.fromClaims(all, ClaimMapping.defaults());
  }

  private static EndpointConfig endpoint(String name, Map<String, String> tags) {
    return new EndpointConfig(name, tags, null);
  }

  private static RuleConfig.Principal principal(
      List<String> subjects,
      List<String> groups,
      List<String> scopes,
      List<String> tenants,
      Map<String, List<String>> claims) {
    return new RuleConfig.Principal(subjects, groups, scopes, tenants, claims);
  }

  private static RuleConfig allow(
      String id,
      RuleConfig.Principal p,
      RuleConfig.Resource r,
      List<String> actions,
      RuleConfig.Conditions c) {
    return new RuleConfig(id, RuleConfig.Effect.ALLOW, null, p, r, actions, c, null);
  }

  private static PolicyEngine engine(RuleConfig... rules) {
    return new PolicyEngine(List.of(rules));
  }
}
