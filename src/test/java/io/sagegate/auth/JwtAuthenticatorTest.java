package io.sagegate.auth;

import static io.sagegate.auth.TestTokens.AUDIENCE;
import static io.sagegate.auth.TestTokens.ISSUER;
import static io.sagegate.auth.TestTokens.await;
import static io.sagegate.auth.TestTokens.awaitFailure;
import static io.sagegate.auth.TestTokens.claims;
import static io.sagegate.auth.TestTokens.newKey;
import static io.sagegate.auth.TestTokens.rejection;
import static io.sagegate.auth.TestTokens.sign;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.SignedJWT;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.auth.AuthenticationException.Reason;
import io.sagegate.config.AuthSettings;
import io.sagegate.config.ClaimMapping;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** JwtAuthenticator over a static JWKS file: every verification check and the token cache. */
@ExtendWith(VertxExtension.class)
class JwtAuthenticatorTest {

  @TempDir Path dir;
  private Vertx vertx;
  private RSAKey key;
  private Path jwksFile;
  private FakeTime time;
  private SimpleMeterRegistry registry;
  private final List<JwtAuthenticator> started = new ArrayList<>();

  @BeforeEach
  void setUp(Vertx vertx) throws Exception {
    this.vertx = vertx;
    key = newKey("key-1");
    jwksFile = dir.resolve("jwks.json");
    Files.writeString(jwksFile, TestTokens.publicJwks(key));
    time = new FakeTime();
    registry = new SimpleMeterRegistry();
  }

  @AfterEach
  void tearDown() {
    started.forEach(JwtAuthenticator::close);
  }

  private AuthSettings settings(Duration leeway, ClaimMapping mapping) {
    return new AuthSettings(
        ISSUER,
        List.of(AUDIENCE, "other-api"),
        null,
        null,
        jwksFile.toString(),
        false,
        null,
        leeway,
        0,
        null,
        null,
        0,
        mapping);
  }

  /**
   * Settings for {@code AUDIENCE} with only the issuer and the key sources given (a JWKS URI, a
   * static JWKS file; no discovery), for the start-up checks.
   */
  private static AuthSettings keySources(String issuer, String jwksUri, String staticJwksFile) {
    return new AuthSettings(
        issuer,
        List.of(AUDIENCE),
        null,
        jwksUri,
        staticJwksFile,
        false,
        null,
        null,
        0,
        null,
        null,
        0,
        null);
  }

  private JwtAuthenticator start(AuthSettings settings) {
    JwtAuthenticator a = await(JwtAuthenticator.start(vertx, settings, registry, null, time, time));
    started.add(a);
    return a;
  }

  private JwtAuthenticator start() {
    return start(settings(Duration.ofSeconds(30), null));
  }

  private Instant now() {
    return time.instant();
  }

  /** A token of the key whose issue time is {@code seconds} from now (negative: in the past). */
  private String issuedIn(long seconds) {
    return sign(key, claims(now()).issueTime(Date.from(now().plusSeconds(seconds))).build());
  }

  /** A token of the key that expires {@code seconds} from now (negative: in the past). */
  private String expiringIn(long seconds) {
    return sign(key, claims(now()).expirationTime(Date.from(now().plusSeconds(seconds))).build());
  }

  /** A token of the key that is not valid before {@code seconds} from now. */
  private String validFromIn(long seconds) {
    return sign(key, claims(now()).notBeforeTime(Date.from(now().plusSeconds(seconds))).build());
  }

  /** The subject of the caller {@code auth} makes of {@code token}. */
  private static String subjectOf(JwtAuthenticator auth, String token) {
    return await(auth.authenticate(token)).subject();
  }

  @Test
  void validTokenYieldsCallerWithGroupsScopesAndTenant() {
    JwtAuthenticator auth = start();
    assertTrue(auth.ready());
    String token =
        sign(
            key,
            claims(now())
                .jwtID("t-1")
                .claim("groups", List.of("data-scientists", "analysts"))
                .claim("scope", "invoke read")
                .claim("tenant", "acme")
                .build());
    Caller caller = await(auth.authenticate(token));
    assertEquals("alice", caller.subject());
    assertEquals(ISSUER, caller.issuer());
    assertEquals("t-1", caller.tokenId());
    assertEquals(Set.of("data-scientists", "analysts"), caller.groups());
    assertEquals(Set.of("invoke", "read"), caller.scopes());
    assertEquals("acme", caller.tenant());
    assertEquals(now().plusSeconds(3600).getEpochSecond(), caller.expiresAt().getEpochSecond());
    assertEquals(
        1.0,
        registry
            .get(JwtAuthenticator.REFRESH_METRIC)
            .tag("trigger", "start")
            .tag("result", "ok")
            .counter()
            .count());
  }

  @Test
  void nestedKeycloakRolesAreMappedToGroups() {
    JwtAuthenticator auth =
        start(
            settings(
                Duration.ofSeconds(30), new ClaimMapping(null, "realm_access.roles", null, null)));
    String token =
        sign(
            key,
            claims(now())
                .claim("realm_access", Map.of("roles", List.of("ml-engineers", "offline_access")))
                .build());
    assertEquals(
        Set.of("ml-engineers", "offline_access"), await(auth.authenticate(token)).groups());
  }

  @Test
  void cognitoGroupsClaimIsMappedWhole() {
    JwtAuthenticator auth =
        start(
            settings(
                Duration.ofSeconds(30),
                new ClaimMapping("username", "cognito:groups", null, null)));
    String token =
        sign(
            key,
            claims(now())
                .claim("username", "bob")
                .claim("cognito:groups", List.of("analysts"))
                .build());
    Caller caller = await(auth.authenticate(token));
    assertEquals("bob", caller.subject());
    assertEquals(Set.of("analysts"), caller.groups());
  }

  @Test
  void aGroupsClaimThatIsOneStringIsOneGroupWhileAScopeStringIsSplit() {
    // Some IdPs send a lone group as a string; group names may hold spaces. Splitting it like a
    // scope string would make "Domain Admins" a member of a group named "Admins".
    JwtAuthenticator auth =
        start(settings(Duration.ofSeconds(30), new ClaimMapping(null, null, "scp", null)));
    Caller caller =
        await(
            auth.authenticate(
                sign(
                    key,
                    claims(now())
                        .claim("groups", "Domain Admins")
                        .claim("scp", "invoke read")
                        .build())));
    assertEquals(Set.of("Domain Admins"), caller.groups());
    assertEquals(Set.of("invoke", "read"), caller.scopes());
    Caller arrays =
        await(
            auth.authenticate(
                sign(
                    key,
                    claims(now())
                        .claim("groups", List.of("Domain Admins", "analysts"))
                        .claim("scp", List.of("invoke"))
                        .build())));
    assertEquals(Set.of("Domain Admins", "analysts"), arrays.groups());
    assertEquals(Set.of("invoke"), arrays.scopes());
  }

  @Test
  void nullValuedClaimsAreTolerated() {
    JwtAuthenticator auth = start();
    String token = sign(key, claims(now()).claim("tenant", null).claim("groups", null).build());
    // Nimbus drops null claims when signing; build the payload by hand to be sure they arrive.
    String payload =
        "{\"iss\":\""
            + ISSUER
            + "\",\"aud\":\""
            + AUDIENCE
            + "\",\"sub\":\"alice\","
            + "\"exp\":"
            + now().plusSeconds(600).getEpochSecond()
            + ",\"tenant\":null}";
    String withNull = signRaw(payload);
    Caller caller = await(auth.authenticate(withNull));
    assertEquals("alice", caller.subject());
    assertEquals(null, caller.tenant());
    assertEquals(Set.of(), await(auth.authenticate(token)).groups());
  }

  private String signRaw(String payloadJson) {
    try {
      com.nimbusds.jose.JWSObject jws =
          new com.nimbusds.jose.JWSObject(
              new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(),
              new com.nimbusds.jose.Payload(payloadJson));
      jws.sign(new com.nimbusds.jose.crypto.RSASSASigner(key));
      return jws.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Every registered time claim that is present must be a number; exp stays required. */
  @Test
  void timeClaimsThatAreNotNumbersAreInvalidClaims() {
    JwtAuthenticator auth = start();
    long exp = now().plusSeconds(600).getEpochSecond();
    String base = "\"iss\":\"" + ISSUER + "\",\"aud\":\"" + AUDIENCE + "\",\"sub\":\"alice\"";
    for (String bad : List.of("null", "\"" + exp + "\"", "true", "[" + exp + "]", "{}")) {
      assertReason(Reason.INVALID_CLAIMS, auth, signRaw("{" + base + ",\"exp\":" + bad + "}"));
      assertReason(
          Reason.INVALID_CLAIMS,
          auth,
          signRaw("{" + base + ",\"exp\":" + exp + ",\"nbf\":" + bad + "}"));
      assertReason(
          Reason.INVALID_CLAIMS,
          auth,
          signRaw("{" + base + ",\"exp\":" + exp + ",\"iat\":" + bad + "}"));
    }
    AuthenticationException e =
        assertReason(Reason.INVALID_CLAIMS, auth, signRaw("{" + base + ",\"exp\":null}"));
    assertTrue(e.getMessage().contains("exp") && e.getMessage().contains("number"), e.getMessage());
    assertEquals("authentication:invalid_claims", e.auditReason());
    // Numbers, integral or not, are fine; exp is still required.
    assertEquals(
        "alice",
        subjectOf(
            auth,
            signRaw(
                "{"
                    + base
                    + ",\"exp\":"
                    + exp
                    + ".5,\"nbf\":"
                    + (exp - 1200)
                    + ",\"iat\":"
                    + (exp - 600)
                    + "}")));
    assertReason(Reason.CLAIMS, auth, signRaw("{" + base + ",\"iat\":" + (exp - 600) + "}"));
  }

  @Test
  void anIssueTimeFurtherInTheFutureThanTheLeewayIsRefused() {
    JwtAuthenticator auth = start(settings(Duration.ofSeconds(30), null));
    assertReason(Reason.INVALID_CLAIMS, auth, issuedIn(31));
    assertReason(Reason.INVALID_CLAIMS, auth, issuedIn(3600));
    assertEquals("alice", subjectOf(auth, issuedIn(30)));
  }

  @Test
  void junkAfterTheTokenIsMalformedNotDecodedLeniently() {
    JwtAuthenticator auth = start();
    String token = sign(key, claims(now()).build());
    assertEquals("alice", subjectOf(auth, token));
    for (String junk : List.of(",", " x", "=", "!", "\t", "+/")) {
      assertReason(Reason.MALFORMED, auth, token + junk);
    }
  }

  @Test
  void anyConfiguredAudienceIsAccepted() {
    JwtAuthenticator auth = start();
    String token = sign(key, claims(now()).audience(List.of("unrelated", "other-api")).build());
    assertEquals("alice", subjectOf(auth, token));
  }

  @Test
  void expiredTokenIsRejected() {
    JwtAuthenticator auth = start();
    String token = expiringIn(-(31 + 60));
    assertReason(Reason.EXPIRED, auth, token);
  }

  @Test
  void notYetValidTokenIsRejected() {
    JwtAuthenticator auth = start();
    String token = validFromIn(120);
    assertReason(Reason.NOT_YET_VALID, auth, token);
  }

  @Test
  void leewayIsHonouredForExpiryAndNotBefore() {
    JwtAuthenticator auth = start(settings(Duration.ofSeconds(30), null));
    String justExpired = expiringIn(-20);
    String almostValid = validFromIn(20);
    assertEquals("alice", subjectOf(auth, justExpired));
    assertEquals("alice", subjectOf(auth, almostValid));

    JwtAuthenticator strict = start(settings(Duration.ZERO, null));
    String expired = expiringIn(-20);
    assertReason(Reason.EXPIRED, strict, expired);
    assertReason(Reason.NOT_YET_VALID, strict, almostValid);
  }

  @Test
  void wrongIssuerIsRejected() {
    JwtAuthenticator auth = start();
    AuthenticationException e =
        assertReason(
            Reason.ISSUER, auth, sign(key, claims(now()).issuer("https://evil.test").build()));
    assertTrue(e.getMessage().contains(ISSUER), e.getMessage());
    assertFalse(e.getMessage().contains("evil"), e.getMessage());
  }

  @Test
  void wrongOrMissingAudienceIsRejected() {
    JwtAuthenticator auth = start();
    assertReason(Reason.AUDIENCE, auth, sign(key, claims(now()).audience("billing").build()));
    assertReason(Reason.AUDIENCE, auth, sign(key, claims(now()).audience((String) null).build()));
  }

  @Test
  void missingSubjectOrExpiryIsRejectedAsClaims() {
    JwtAuthenticator auth = start();
    AuthenticationException noSub =
        assertReason(Reason.CLAIMS, auth, sign(key, claims(now()).subject(null).build()));
    assertTrue(noSub.getMessage().contains("sub"), noSub.getMessage());
    AuthenticationException noExp =
        assertReason(Reason.CLAIMS, auth, sign(key, claims(now()).expirationTime(null).build()));
    assertTrue(noExp.getMessage().contains("exp"), noExp.getMessage());
    // A subject that is an object, not a string, is no subject either.
    JwtAuthenticator mapped =
        start(settings(Duration.ofSeconds(30), new ClaimMapping("user", null, null, null)));
    assertReason(
        Reason.CLAIMS, mapped, sign(key, claims(now()).claim("user", Map.of("id", 1)).build()));
  }

  @Test
  void unsecuredAlgNoneTokenIsRejected() {
    JwtAuthenticator auth = start();
    String header = b64("{\"alg\":\"none\",\"typ\":\"JWT\"}");
    String payload = Base64URL.encode(claims(now()).build().toString()).toString();
    AuthenticationException e = assertReason(Reason.ALGORITHM, auth, header + "." + payload + ".");
    assertTrue(e.getMessage().contains("none"), e.getMessage());
    // Also with a signature part that is not empty.
    assertReason(Reason.ALGORITHM, auth, header + "." + payload + "." + b64("x"));
  }

  @Test
  void hmacKeyedWithThePublicKeyIsRejected() throws JOSEException {
    // The classic key-confusion attack: HS256 with the RSA public key as the HMAC secret.
    JwtAuthenticator auth = start();
    byte[] publicKeyBytes = key.toRSAPublicKey().getEncoded();
    SignedJWT forged =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.HS256).keyID(key.getKeyID()).build(),
            claims(now()).build());
    forged.sign(new MACSigner(publicKeyBytes));
    AuthenticationException e = assertReason(Reason.ALGORITHM, auth, forged.serialize());
    assertTrue(e.getMessage().contains("HS256"), e.getMessage());
  }

  @Test
  void hmacAlgorithmsCannotBeConfigured() {
    AuthSettings hmac =
        new AuthSettings(
            ISSUER,
            List.of(AUDIENCE),
            null,
            null,
            jwksFile.toString(),
            false,
            List.of("RS256", "HS256"),
            null,
            0,
            null,
            null,
            0,
            null);
    Throwable e = awaitFailure(JwtAuthenticator.start(vertx, hmac, registry, null));
    assertTrue(e.getMessage().contains("HS256"), e.getMessage());
  }

  @Test
  void algorithmOutsideTheAllowListIsRejected() {
    AuthSettings rs512Only =
        new AuthSettings(
            ISSUER,
            List.of(AUDIENCE),
            null,
            null,
            jwksFile.toString(),
            false,
            List.of("RS512"),
            null,
            0,
            null,
            null,
            0,
            null);
    JwtAuthenticator auth = start(rs512Only);
    assertReason(Reason.ALGORITHM, auth, sign(key, claims(now()).build()));
    String rs512 =
        sign(
            key,
            new JWSHeader.Builder(JWSAlgorithm.RS512).keyID("key-1").build(),
            claims(now()).build());
    assertEquals("alice", subjectOf(auth, rs512));
  }

  @Test
  void tamperedPayloadFailsSignature() {
    JwtAuthenticator auth = start();
    String token = sign(key, claims(now()).claim("groups", List.of("analysts")).build());
    String[] parts = token.split("\\.");
    String forgedPayload =
        Base64URL.encode(claims(now()).claim("groups", List.of("ml-engineers")).build().toString())
            .toString();
    assertReason(Reason.SIGNATURE, auth, parts[0] + "." + forgedPayload + "." + parts[2]);
  }

  @Test
  void aCachedTokensSignatureUnderAForgedPayloadIsVerifiedAndRefused() {
    // The cache hashes a token's last characters (its signature); a forged payload under a
    // cached token's signature shares that hash, and must still be verified, not served.
    JwtAuthenticator auth = start();
    String token = sign(key, claims(now()).claim("groups", List.of("analysts")).build());
    await(auth.authenticate(token));
    String[] parts = token.split("\\.");
    // Same length as the real payload, so the forgery's cache hash is the real token's.
    String forgedPayload =
        Base64URL.encode(claims(now()).claim("groups", List.of("engineer")).build().toString())
            .toString();
    String forged = parts[0] + "." + forgedPayload + "." + parts[2];
    assertEquals(token.length(), forged.length());
    assertReason(Reason.SIGNATURE, auth, forged);
    assertEquals(1, auth.cachedTokens());
  }

  @Test
  void tokenSignedByAnotherKeyWithTheSameKidFailsSignature() {
    JwtAuthenticator auth = start();
    assertReason(Reason.SIGNATURE, auth, sign(newKey("key-1"), claims(now()).build()));
  }

  @Test
  void headersThatNameOtherKeysAreNeverFollowedAndUnknownCriticalHeadersAreRefused()
      throws Exception {
    JwtAuthenticator auth = start();
    RSAKey attacker = newKey("attacker");
    // jku / x5u / an embedded jwk name the attacker's key: none is fetched or trusted. An
    // unreachable URL makes any attempt to fetch fail the test by hanging or erroring.
    assertReason(
        Reason.UNKNOWN_KID,
        auth,
        sign(
            attacker,
            new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID("attacker")
                .jwkURL(new java.net.URI("http://127.0.0.1:9/jwks"))
                .build(),
            claims(now()).build()));
    assertReason(
        Reason.SIGNATURE,
        auth,
        sign(
            attacker,
            new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(key.getKeyID())
                .x509CertURL(new java.net.URI("http://127.0.0.1:9/x5u"))
                .build(),
            claims(now()).build()));
    assertReason(
        Reason.SIGNATURE,
        auth,
        sign(
            attacker,
            new JWSHeader.Builder(JWSAlgorithm.RS256).jwk(attacker.toPublicJWK()).build(),
            claims(now()).build()));
    // A header the gateway does not understand but the issuer marked critical (RFC 7515 4.1.11):
    // its own reason, not a signature failure (the signature is the issuer's own).
    assertReason(
        Reason.UNSUPPORTED_CRIT,
        auth,
        sign(
            key,
            new JWSHeader.Builder(JWSAlgorithm.RS256)
                .keyID(key.getKeyID())
                .criticalParams(Set.of("x-bind"))
                .customParam("x-bind", "v")
                .build(),
            claims(now()).build()));
  }

  @Test
  void withoutAKidEveryKeyOfTheSetIsTriedAndAnRsaKeyNeverVerifiesAnEcAlgorithm() throws Exception {
    RSAKey second = newKey("key-2");
    Files.writeString(jwksFile, TestTokens.publicJwks(key, second));
    JwtAuthenticator auth = start();
    JWSHeader noKid = new JWSHeader.Builder(JWSAlgorithm.RS256).build();
    assertEquals(
        "alice", await(auth.authenticate(sign(key, noKid, claims(now()).build()))).subject());
    assertEquals(
        "alice", await(auth.authenticate(sign(second, noKid, claims(now()).build()))).subject());
    assertReason(Reason.SIGNATURE, auth, sign(newKey("x"), noKid, claims(now()).build()));
    // ES256 (allowed) naming the RSA key's kid, signed with an EC key of that kid.
    com.nimbusds.jose.jwk.ECKey ec =
        new com.nimbusds.jose.jwk.gen.ECKeyGenerator(com.nimbusds.jose.jwk.Curve.P_256)
            .keyID(key.getKeyID())
            .generate();
    SignedJWT confused =
        new SignedJWT(
            new JWSHeader.Builder(JWSAlgorithm.ES256).keyID(key.getKeyID()).build(),
            claims(now()).build());
    confused.sign(new com.nimbusds.jose.crypto.ECDSASigner(ec));
    assertReason(Reason.SIGNATURE, auth, confused.serialize());
  }

  @Test
  void expiryIsExclusiveAtTheLeewayBoundary() {
    // On a whole second, so exp + leeway can equal now exactly.
    time.advance(Duration.ofNanos(1_000_000_000L - now().getNano()));
    JwtAuthenticator auth = start(settings(Duration.ofSeconds(30), null));
    assertReason(Reason.EXPIRED, auth, expiringIn(-30));
    assertEquals("alice", subjectOf(auth, expiringIn(-29)));
    assertEquals("alice", subjectOf(auth, validFromIn(29)));
    assertReason(Reason.NOT_YET_VALID, auth, validFromIn(31));
  }

  @Test
  void aNestedClaimPathThroughANonObjectYieldsNothing() {
    JwtAuthenticator auth =
        start(
            settings(
                Duration.ofSeconds(30), new ClaimMapping(null, "realm_access.roles", null, null)));
    assertEquals(
        Set.of(),
        await(auth.authenticate(sign(key, claims(now()).claim("realm_access", "roles").build())))
            .groups());
    assertEquals(
        Set.of(),
        await(
                auth.authenticate(
                    sign(
                        key,
                        claims(now())
                            .claim("realm_access", List.of(Map.of("roles", List.of("admin"))))
                            .build())))
            .groups());
  }

  @Test
  void garbageIsMalformed() {
    JwtAuthenticator auth = start();
    assertReason(Reason.MALFORMED, auth, "not-a-jwt");
    assertReason(Reason.MALFORMED, auth, "a.b");
    assertReason(Reason.MALFORMED, auth, "!!!.@@@.###");
    assertReason(Reason.MALFORMED, auth, b64("{\"alg\":\"RS256\"}") + "." + b64("[1,2]") + ".c2ln");
    assertReason(Reason.MALFORMED, auth, "a.b.c.d.e");
  }

  @Test
  void missingTokenIsMissing() {
    JwtAuthenticator auth = start();
    assertReason(Reason.MISSING, auth, "");
    assertReason(Reason.MISSING, auth, null);
  }

  @Test
  void oversizedTokenIsRejectedBeforeParsing() {
    JwtAuthenticator auth = start();
    String huge = sign(key, claims(now()).claim("pad", "x".repeat(9000)).build());
    AuthenticationException e = assertReason(Reason.TOO_LARGE, auth, huge);
    assertTrue(e.getMessage().contains("8192"), e.getMessage());
    // Not even parsed: pure garbage of that size is TOO_LARGE, not MALFORMED.
    assertReason(Reason.TOO_LARGE, auth, "#".repeat(8193));
  }

  @Test
  void unknownKidWithNoNewKeysIsRejected() {
    JwtAuthenticator auth = start();
    AuthenticationException e =
        assertReason(Reason.UNKNOWN_KID, auth, sign(newKey("stranger"), claims(now()).build()));
    assertFalse(e.getMessage().contains("stranger"), e.getMessage());
  }

  @Test
  void replacedStaticFileIsPickedUpByAnUnknownKidAfterTheMinimumInterval() throws Exception {
    JwtAuthenticator auth = start();
    RSAKey rotated = newKey("key-2");
    Files.writeString(jwksFile, TestTokens.publicJwks(key, rotated));
    String token = sign(rotated, claims(now()).build());
    // The start load was just now: the rate limit holds the refresh back.
    assertReason(Reason.UNKNOWN_KID, auth, token);
    time.advance(Duration.ofSeconds(31));
    assertEquals("alice", subjectOf(auth, token));
    assertEquals(
        1.0,
        registry
            .get(JwtAuthenticator.REFRESH_METRIC)
            .tag("trigger", "unknown_kid")
            .tag("result", "ok")
            .counter()
            .count());
  }

  @Test
  void cacheHitReturnsTheSameCaller() {
    JwtAuthenticator auth = start();
    String token = sign(key, claims(now()).build());
    Caller first = await(auth.authenticate(token));
    assertSame(first, await(auth.authenticate(token)));
    assertEquals(1, auth.cachedTokens());
    assertNotSame(first, await(auth.authenticate(sign(key, claims(now()).jwtID("other").build()))));
  }

  @Test
  void cachedTokenExpiresAtItsExp() {
    JwtAuthenticator auth = start(settings(Duration.ZERO, null));
    String token = expiringIn(5);
    Caller first = await(auth.authenticate(token));
    assertEquals(Duration.between(now(), first.expiresAt()), auth.cacheLifetime(first));
    time.advance(Duration.ofSeconds(4));
    assertSame(first, await(auth.authenticate(token)));
    time.advance(Duration.ofSeconds(2));
    // Past exp: the cache no longer answers, so the token is verified again and refused.
    assertReason(Reason.EXPIRED, auth, token);
    assertEquals(0, auth.cachedTokens());
  }

  @Test
  void cacheLifetimeIsTheTimeLeftUntilExp() {
    JwtAuthenticator auth = start();
    Instant now = now();
    Caller caller = new Caller("a", ISSUER, null, null, null, null, null, now.plusSeconds(90));
    assertEquals(Duration.ofSeconds(90), auth.cacheLifetime(caller));
    Caller past = new Caller("a", ISSUER, null, null, null, null, null, now.minusSeconds(1));
    assertEquals(Duration.ZERO, auth.cacheLifetime(past));
  }

  @Test
  void startFailsWhenNoOrSeveralKeySourcesAreSet() {
    AuthSettings none = keySources(ISSUER, null, null);
    Throwable e = awaitFailure(JwtAuthenticator.start(vertx, none, registry, dir));
    assertTrue(
        e.getMessage().contains("discoveryUrl") && e.getMessage().contains("none"), e.getMessage());
    AuthSettings two = keySources(ISSUER, "http://localhost:1/j", jwksFile.toString());
    e = awaitFailure(JwtAuthenticator.start(vertx, two, registry, dir));
    assertTrue(e.getMessage().contains("jwksUri, staticJwksFile"), e.getMessage());
  }

  @Test
  void startFailsNamingAMissingOrInvalidStaticFile() throws Exception {
    Path missing = dir.resolve("nope.json");
    AuthSettings s = keySources(ISSUER, null, missing.toString());
    Throwable e = awaitFailure(JwtAuthenticator.start(vertx, s, registry, null));
    assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

    Path invalid = dir.resolve("invalid.json");
    Files.writeString(invalid, "{\"keys\": 3}");
    s = keySources(ISSUER, null, invalid.toString());
    e = awaitFailure(JwtAuthenticator.start(vertx, s, registry, null));
    assertTrue(e.getMessage().contains(invalid.toString()), e.getMessage());
  }

  @Test
  void startFailsWithoutAnIssuer() {
    AuthSettings s = keySources(null, null, jwksFile.toString());
    Throwable e = awaitFailure(JwtAuthenticator.start(vertx, s, registry, null));
    assertTrue(e.getMessage().contains("auth.issuer"), e.getMessage());
  }

  private static String b64(String s) {
    return Base64URL.encode(s.getBytes(StandardCharsets.UTF_8)).toString();
  }

  /** Asserts the reason, and that the message (returned to the caller) never holds the token. */
  private static AuthenticationException assertReason(
      Reason expected, JwtAuthenticator auth, String token) {
    Future<Caller> result = auth.authenticate(token);
    AuthenticationException e = rejection(result);
    assertEquals(expected, e.reason(), e.getMessage());
    assertEquals(401, e.status());
    if (token != null && token.length() > 8) {
      for (String part : token.split("\\.")) {
        if (part.length() > 8) {
          assertFalse(e.getMessage().contains(part), "message leaks the token: " + e.getMessage());
        }
      }
    }
    return e;
  }
}
