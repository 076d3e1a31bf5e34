package io.sagegate.auth;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import com.nimbusds.jose.Algorithm;
import com.nimbusds.jose.Header;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.proc.BadJWSException;
import com.nimbusds.jose.proc.DefaultJOSEObjectTypeVerifier;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTClaimsVerifier;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import com.nimbusds.jwt.proc.ExpiredJWTException;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagegate.auth.AuthenticationException.Reason;
import io.sagegate.config.AuthSettings;
import io.sagegate.error.Errors;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies JWT bearer tokens against the issuer's public keys (JWKS) with Nimbus JOSE: signature
 * over an allow-list of asymmetric algorithms, issuer, audience (any of), expiry and not-before
 * with a leeway, and the subject claim. Verified tokens are cached until they expire, so a repeat
 * token costs one map lookup.
 *
 * <p>Keys come from exactly one source (see {@link AuthSettings}) and are held by the {@link
 * KeyRing}: loaded asynchronously, retried until the first load succeeds, refreshed periodically
 * for remote sources, and once (rate-limited) for a token with an unknown key id (rotation). A
 * failed refresh keeps the previous keys. This class does the token checks only.
 *
 * <p>Signature verification itself (tens of microseconds for RSA-2048) runs on the calling thread:
 * it is CPU work shorter than a context switch to a worker, not blocking I/O.
 */
public final class JwtAuthenticator implements Authenticator {

  static final String REFRESH_METRIC = KeyRing.REFRESH_METRIC;

  private static final Logger LOG = LoggerFactory.getLogger(JwtAuthenticator.class);

  /** The registered time claims: each, when present, must be a JSON number (RFC 7519 4.1). */
  private static final List<String> TIME_CLAIMS = List.of("exp", "nbf", "iat");

  private final AuthSettings settings;
  private final KeyRing keyRing;
  private final Clock clock;
  private final Set<JWSAlgorithm> algorithms;
  private final String allowedNames;
  private final Set<String> requiredClaims;
  private final DefaultJWTProcessor<SecurityContext> processor;
  private final Cache<TokenKey, Caller> cache;

  JwtAuthenticator(
      Vertx vertx,
      AuthSettings settings,
      MeterRegistry registry,
      JwksLoader loader,
      Ticker ticker,
      Clock clock,
      Duration firstRetryDelay,
      Duration maxRetryDelay) {
    this.settings = settings;
    this.clock = clock;
    this.algorithms = parseAlgorithms(settings.algorithms());
    this.allowedNames =
        algorithms.stream().map(JWSAlgorithm::getName).collect(Collectors.joining(", "));
    // A dotted subject mapping names a nested claim, which Nimbus cannot require; the subject is
    // checked on the mapped Caller in any case.
    Set<String> required = new HashSet<>(Set.of("exp"));
    if (!settings.claims().subject().contains(".")) {
      required.add(settings.claims().subject());
    }
    this.requiredClaims = Set.copyOf(required);
    if (settings.audiences().isEmpty()) {
      LOG.warn(
          "auth.audiences is empty: tokens of issuer {} are accepted whatever their audience",
          settings.issuer());
    }

    // Maintenance (draining the read buffer, eviction, expiry) on the reading thread, the event
    // loop, instead of ForkJoinPool.commonPool(): its default hand-off woke a pool thread ~2 400
    // times a second at 20 000 req/s, each wake-up preempting the event loop on the same core.
    this.cache =
        Caffeine.newBuilder()
            .executor(Runnable::run)
            .maximumSize(settings.tokenCacheSize())
            .ticker(ticker)
            .expireAfter(Expiry.<TokenKey, Caller>creating((key, caller) -> untilExpiry(caller)))
            .build();
    this.keyRing =
        new KeyRing(
            vertx,
            settings,
            registry,
            loader,
            ticker,
            firstRetryDelay,
            maxRetryDelay,
            cache::invalidateAll);

    DefaultJWTClaimsVerifier<SecurityContext> claimsVerifier =
        new DefaultJWTClaimsVerifier<>(
            settings.audiences().isEmpty() ? null : new HashSet<>(settings.audiences()),
            new JWTClaimsSet.Builder().issuer(settings.issuer()).build(),
            requiredClaims,
            null) {
          @Override
          protected Date currentTime() {
            return Date.from(clock.instant());
          }
        };
    claimsVerifier.setMaxClockSkew(
        (int) Math.min(Integer.MAX_VALUE, settings.leeway().toSeconds()));
    processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(algorithms, keyRing.source()));
    processor.setJWTClaimsSetVerifier(claimsVerifier);
    // Plain JWTs and RFC 9068 access tokens; no typ at all is accepted too.
    processor.setJWSTypeVerifier(
        new DefaultJOSEObjectTypeVerifier<>(
            JOSEObjectType.JWT,
            new JOSEObjectType("at+jwt"),
            new JOSEObjectType("application/at+jwt"),
            null));
  }

  /**
   * Validates {@code settings}, loads the signing keys and starts periodic refreshes.
   *
   * @param devKeyDir where the development issuer key lives when {@code settings.devIssuer()}; null
   *     for {@link DevIssuer#defaultDir()}
   * @return completes once keys are loaded; fails with a message naming the bad setting, URL or
   *     file
   */
  public static Future<JwtAuthenticator> start(
      Vertx vertx, AuthSettings settings, MeterRegistry registry, Path devKeyDir) {
    return start(vertx, settings, registry, devKeyDir, Ticker.systemTicker(), Clock.systemUTC());
  }

  /** As {@link #start(Vertx, AuthSettings, MeterRegistry, Path)} with a test's time source. */
  static Future<JwtAuthenticator> start(
      Vertx vertx,
      AuthSettings settings,
      MeterRegistry registry,
      Path devKeyDir,
      Ticker ticker,
      Clock clock) {
    return create(
            vertx,
            settings,
            registry,
            devKeyDir,
            ticker,
            clock,
            KeyRing.FIRST_RETRY_DELAY,
            KeyRing.MAX_RETRY_DELAY)
        .compose(
            authenticator ->
                authenticator
                    .keyRing
                    .loadOnce()
                    .map(authenticator)
                    .onFailure(e -> authenticator.close()));
  }

  /**
   * Validates {@code settings} and loads the signing keys, retrying in the background if the first
   * attempt fails: an identity provider that cannot be reached yet does not stop the gateway from
   * starting. Completes once the first attempt has ended, loaded or not. Until keys load, {@link
   * #notReadyReason()} says why, and failed loads are retried with doubling delays from 1 s up to
   * 30 s ({@link KeyRing}).
   *
   * @return fails only for invalid settings, with a message naming the bad setting
   */
  public static Future<JwtAuthenticator> open(
      Vertx vertx, AuthSettings settings, MeterRegistry registry, Path devKeyDir) {
    return open(
        vertx, settings, registry, devKeyDir, KeyRing.FIRST_RETRY_DELAY, KeyRing.MAX_RETRY_DELAY);
  }

  /** As {@link #open(Vertx, AuthSettings, MeterRegistry, Path)} with a test's retry delays. */
  static Future<JwtAuthenticator> open(
      Vertx vertx,
      AuthSettings settings,
      MeterRegistry registry,
      Path devKeyDir,
      Duration firstRetryDelay,
      Duration maxRetryDelay) {
    return create(
            vertx,
            settings,
            registry,
            devKeyDir,
            Ticker.systemTicker(),
            Clock.systemUTC(),
            firstRetryDelay,
            maxRetryDelay)
        .compose(authenticator -> authenticator.keyRing.loadInBackground().map(authenticator));
  }

  /**
   * An authenticator for {@code settings} whose keys are not loaded yet, or a failed future naming
   * the bad setting: what {@code start} and {@code open} both begin with.
   */
  private static Future<JwtAuthenticator> create(
      Vertx vertx,
      AuthSettings settings,
      MeterRegistry registry,
      Path devKeyDir,
      Ticker ticker,
      Clock clock,
      Duration firstRetryDelay,
      Duration maxRetryDelay) {
    try {
      AuthSettings effective = validate(settings);
      JwksLoader loader = JwksLoader.from(vertx, effective, devKeyDir);
      return Future.succeededFuture(
          new JwtAuthenticator(
              vertx, effective, registry, loader, ticker, clock, firstRetryDelay, maxRetryDelay));
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e);
    }
  }

  /**
   * Checks settings beyond the record's defaults; the development issuer gets its fixed issuer and
   * audience when none are configured.
   */
  static AuthSettings validate(AuthSettings s) {
    if (s == null) {
      throw new IllegalArgumentException("auth settings must not be null");
    }
    String issuer = s.issuer();
    List<String> audiences = s.audiences();
    if (s.devIssuer()) {
      if (issuer == null || issuer.isBlank()) {
        issuer = AuthSettings.DEV_ISSUER;
      } else if (!issuer.equals(AuthSettings.DEV_ISSUER)) {
        throw new IllegalArgumentException(
            "auth.issuer must be "
                + AuthSettings.DEV_ISSUER
                + " (or unset) when auth.devIssuer is true, got "
                + issuer);
      }
      if (audiences.isEmpty()) {
        audiences = List.of(AuthSettings.DEV_AUDIENCE);
      } else if (!audiences.contains(AuthSettings.DEV_AUDIENCE)) {
        throw new IllegalArgumentException(
            "auth.audiences must include "
                + AuthSettings.DEV_AUDIENCE
                + " when auth.devIssuer is true, got "
                + audiences);
      }
    }
    if (issuer == null || issuer.isBlank()) {
      throw new IllegalArgumentException("auth.issuer must be set (the tokens' iss value)");
    }
    if (s.leeway().isNegative()) {
      throw new IllegalArgumentException("auth.leeway must not be negative, got " + s.leeway());
    }
    if (s.keyRefreshInterval().toMillis() < 1 || s.minKeyRefreshInterval().isNegative()) {
      throw new IllegalArgumentException(
          "auth.keyRefreshInterval must be positive and auth.minKeyRefreshInterval not negative");
    }
    if (s.claims().subject() == null || s.claims().subject().isBlank()) {
      throw new IllegalArgumentException("auth.claims.subject must not be blank");
    }
    parseAlgorithms(s.algorithms());
    if (issuer.equals(s.issuer()) && audiences.equals(s.audiences())) {
      return s;
    }
    return new AuthSettings(
        issuer,
        audiences,
        s.discoveryUrl(),
        s.jwksUri(),
        s.staticJwksFile(),
        s.devIssuer(),
        s.algorithms(),
        s.leeway(),
        s.maxTokenBytes(),
        s.keyRefreshInterval(),
        s.minKeyRefreshInterval(),
        s.tokenCacheSize(),
        s.claims());
  }

  /**
   * The configured names, each checked against the one allow-list, {@link AuthSettings#ALGORITHMS}.
   */
  private static Set<JWSAlgorithm> parseAlgorithms(List<String> names) {
    Set<JWSAlgorithm> out = new LinkedHashSet<>();
    for (String name : names) {
      String refused = AuthSettings.refusedAlgorithm(name);
      if (refused != null) {
        throw new IllegalArgumentException("auth.algorithms: " + refused);
      }
      out.add(JWSAlgorithm.parse(name));
    }
    return Set.copyOf(out);
  }

  @Override
  public Future<Caller> authenticate(String token) {
    if (token == null || token.isBlank()) {
      return fail(Reason.MISSING, "Bearer token is empty");
    }
    if (token.length() > settings.maxTokenBytes()) {
      return fail(
          Reason.TOO_LARGE,
          "Bearer token exceeds the limit of " + settings.maxTokenBytes() + " bytes");
    }
    // Keyed by the token itself, as Envoy's JWT cache is: an exact match. A SHA-256 digest of
    // every token (so the cache would hold no usable tokens) cost about 5% of the gateway's CPU
    // per request; entries leave the cache when their token expires, and the same tokens sit in
    // the request buffers anyway.
    TokenKey cacheKey = new TokenKey(token);
    Caller cached = cache.getIfPresent(cacheKey);
    if (cached != null && clock.instant().isBefore(cached.expiresAt())) {
      return Future.succeededFuture(cached);
    }

    SignedJWT jwt;
    try {
      jwt = parse(token);
    } catch (AuthenticationException e) {
      return Future.failedFuture(e);
    }
    if (!keyRing.loaded()) {
      // Not the caller's fault: the identity provider's keys could not be loaded yet.
      return Future.failedFuture(
          Errors.serviceUnavailable(
                  "The token issuer's signing keys are not available yet; retry shortly")
              .withAuditReason("authentication:" + Reason.KEYS_UNAVAILABLE.label()));
    }
    String kid = jwt.getHeader().getKeyID();
    if (kid == null || keyRing.knows(kid)) {
      return verify(jwt, cacheKey);
    }
    // Unknown key id: perhaps the issuer rotated keys. Refresh once (rate-limited) and retry.
    return keyRing
        .refresh("unknown_kid", false)
        .transform(
            ar ->
                keyRing.knows(kid)
                    ? verify(jwt, cacheKey)
                    : fail(
                        Reason.UNKNOWN_KID, "Token key id is not among the issuer's signing keys"));
  }

  @Override
  public boolean ready() {
    return keyRing.loaded();
  }

  @Override
  public @Nullable String notReadyReason() {
    return keyRing.notReadyReason();
  }

  @Override
  public void close() {
    keyRing.close();
  }

  /** Visible for tests: reloads the key set as the given trigger would. */
  Future<Void> refresh(String trigger, boolean force) {
    return keyRing.refresh(trigger, force);
  }

  private SignedJWT parse(String token) {
    int dots = 0;
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c == '.') {
        dots++;
      } else if (!((c >= 'a' && c <= 'z')
          || (c >= 'A' && c <= 'Z')
          || (c >= '0' && c <= '9')
          || c == '-'
          || c == '_')) {
        // Strict base64url: a decoder that skips other characters would accept a token with
        // junk appended (a comma, a space and more).
        throw new AuthenticationException(
            Reason.MALFORMED,
            "Bearer token is not a JWT: only base64url characters and two dots are allowed");
      }
    }
    if (dots != 2) {
      throw new AuthenticationException(
          Reason.MALFORMED,
          dots == 4
              ? "Encrypted tokens (JWE) are not accepted; send a signed JWT"
              : "Bearer token is not a JWT: expected three base64url parts header.payload.signature");
    }
    // The header first: an unsecured or disallowed algorithm is refused by name, whatever
    // else is wrong with the token.
    Header header;
    try {
      header = Header.parse(new Base64URL(token.substring(0, token.indexOf('.'))));
    } catch (ParseException e) {
      // The parser's message may quote the header; keep it out of the answer.
      throw new AuthenticationException(
          Reason.MALFORMED,
          "Bearer token is not a well-formed JWT: its header is not valid base64url JSON");
    }
    if (Algorithm.NONE.equals(header.getAlgorithm())) {
      throw new AuthenticationException(
          Reason.ALGORITHM,
          "Unsecured tokens (alg none) are not accepted; allowed algorithms: " + allowedNames);
    }
    if (!(header instanceof JWSHeader jwsHeader)
        || !algorithms.contains(jwsHeader.getAlgorithm())) {
      throw new AuthenticationException(
          Reason.ALGORITHM,
          "Token algorithm "
              + printable(header.getAlgorithm().getName())
              + " is not accepted; allowed algorithms: "
              + allowedNames);
    }
    Set<String> critical = header.getCriticalParams();
    if (critical != null && !critical.isEmpty()) {
      // RFC 7515 4.1.11: a recipient must refuse a token whose critical parameters it does not
      // understand; this gateway understands none.
      throw new AuthenticationException(
          Reason.UNSUPPORTED_CRIT,
          "Token header marks parameters critical (crit) that are not supported: "
              + printable(String.join(",", new java.util.TreeSet<>(critical))));
    }
    SignedJWT jwt;
    try {
      jwt = SignedJWT.parse(token);
    } catch (ParseException e) {
      throw new AuthenticationException(
          Reason.MALFORMED,
          "Bearer token is not a well-formed JWT: expected base64url header.payload.signature");
    }
    Map<String, Object> payload = jwt.getPayload().toJSONObject();
    if (payload == null) {
      throw new AuthenticationException(
          Reason.MALFORMED,
          "Bearer token is not a well-formed JWT: its payload is not a JSON object");
    }
    for (String name : TIME_CLAIMS) {
      if (payload.containsKey(name) && !(payload.get(name) instanceof Number)) {
        throw new AuthenticationException(
            Reason.INVALID_CLAIMS,
            "Token claim " + name + " must be a number (seconds since the epoch)");
      }
    }
    try {
      jwt.getJWTClaimsSet();
    } catch (ParseException e) {
      throw new AuthenticationException(
          Reason.MALFORMED,
          "Bearer token is not a well-formed JWT: its payload is not a JSON object");
    }
    return jwt;
  }

  private Future<Caller> verify(SignedJWT jwt, TokenKey cacheKey) {
    JWTClaimsSet claims;
    try {
      claims = processor.process(jwt, null);
    } catch (BadJWTException e) {
      return Future.failedFuture(claimsRejected(e, jwt));
    } catch (BadJWSException e) {
      return fail(Reason.SIGNATURE, "Token signature is invalid");
    } catch (BadJOSEException e) {
      // No key of the token's kid/algorithm (e.g. an EC token naming an RSA key), or a bad typ.
      String typ = jwt.getHeader().getType() == null ? null : jwt.getHeader().getType().getType();
      if (e.getMessage() != null && e.getMessage().contains("type")) {
        return fail(Reason.MALFORMED, "Token type (typ) " + printable(typ) + " is not accepted");
      }
      return fail(Reason.SIGNATURE, "No signing key matches the token's key id and algorithm");
    } catch (JOSEException e) {
      LOG.warn("Token signature could not be checked: {}", e.getMessage());
      return fail(Reason.SIGNATURE, "Token signature could not be verified");
    }
    Date issued = claims.getIssueTime();
    if (issued != null && issued.toInstant().isAfter(clock.instant().plus(settings.leeway()))) {
      return fail(
          Reason.INVALID_CLAIMS,
          "Token was issued in the future (its iat is beyond the allowed clock skew)");
    }
    // JSON-shaped claims (dates as epoch seconds, null-valued claims left out) rather than
    // getClaims(): Caller copies them with Map.copyOf, which refuses nulls.
    Caller caller = Caller.fromClaims(claims.toJSONObject(), settings.claims());
    if (caller.subject() == null || caller.subject().isBlank()) {
      return fail(
          Reason.CLAIMS,
          "Token claim "
              + settings.claims().subject()
              + " (the subject) must be a non-empty string");
    }
    cache.put(cacheKey, caller);
    return Future.succeededFuture(caller);
  }

  /**
   * Maps a claims rejection to its reason. Nimbus reports all claim checks as BadJWTException;
   * expiry has its own subclass, the others are told apart by their (stable, tested) messages.
   */
  private AuthenticationException claimsRejected(BadJWTException e, SignedJWT jwt) {
    String m = e.getMessage() == null ? "" : e.getMessage();
    if (e instanceof ExpiredJWTException || m.startsWith("Expired JWT")) {
      return new AuthenticationException(Reason.EXPIRED, "Token has expired");
    }
    if (m.startsWith("JWT before use time")) {
      return new AuthenticationException(
          Reason.NOT_YET_VALID, "Token is not valid yet (its nbf is in the future)");
    }
    if (m.startsWith("JWT audience rejected") || m.startsWith("JWT missing required audience")) {
      return new AuthenticationException(
          Reason.AUDIENCE,
          "Token audience is not accepted; expected one of " + settings.audiences());
    }
    if (m.startsWith("JWT iss claim")) {
      return new AuthenticationException(
          Reason.ISSUER, "Token issuer is not accepted; expected " + settings.issuer());
    }
    JWTClaimsSet claims;
    try {
      claims = jwt.getJWTClaimsSet();
    } catch (ParseException pe) {
      claims = new JWTClaimsSet.Builder().build();
    }
    Set<String> missing = new LinkedHashSet<>();
    for (String name : List.of("iss", "exp", settings.claims().subject())) {
      if (claims.getClaim(name) == null) {
        missing.add(name);
      }
    }
    return new AuthenticationException(
        Reason.CLAIMS,
        missing.isEmpty()
            ? "Token claims are not accepted"
            : "Token lacks required claims: " + String.join(", ", missing));
  }

  private Duration untilExpiry(Caller caller) {
    Instant exp = caller.expiresAt();
    if (exp == null) {
      return Duration.ZERO;
    }
    Duration left = Duration.between(clock.instant(), exp);
    return left.isNegative() ? Duration.ZERO : left;
  }

  /** Visible for tests: how long a newly cached caller may stay cached. */
  Duration cacheLifetime(Caller caller) {
    return untilExpiry(caller);
  }

  /** Visible for tests. */
  long cachedTokens() {
    cache.cleanUp();
    return cache.estimatedSize();
  }

  private static <T> Future<T> fail(Reason reason, String message) {
    return Future.failedFuture(new AuthenticationException(reason, message));
  }

  /** Token-derived text for a message: safe characters only, short. */
  private static String printable(@Nullable String s) {
    if (s == null) {
      return "(none)";
    }
    String cleaned = s.replaceAll("[^A-Za-z0-9._+:/-]", "?");
    return cleaned.length() > 32 ? cleaned.substring(0, 32) + "..." : cleaned;
  }

  /**
   * A token as a cache key: equal only to the very same token, hashed over its last characters (the
   * signature's, as random as a hash) instead of all of them. String.hashCode over a whole 600-1000
   * character token showed up at about 2% of the CPU per request on Java 17. Equality stays exact,
   * so a shared hash can only ever cost a longer lookup, never a wrong caller; and only verified
   * tokens are ever stored.
   */
  private static final class TokenKey {
    private static final int HASHED_CHARS = 32;
    private final String token;
    private final int hash;

    TokenKey(String token) {
      this.token = token;
      int h = token.length();
      for (int i = Math.max(0, token.length() - HASHED_CHARS); i < token.length(); i++) {
        h = 31 * h + token.charAt(i);
      }
      this.hash = h;
    }

    @Override
    public int hashCode() {
      return hash;
    }

    @Override
    public boolean equals(Object other) {
      return other instanceof TokenKey k && k.hash == hash && k.token.equals(token);
    }
  }
}
