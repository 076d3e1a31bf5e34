package io.sagegate.auth;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.vertx.core.Future;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** Test keys and tokens, and a way to wait for a future's real completion. */
final class TestTokens {
  static final String ISSUER = "https://idp.test/realms/sagegate";
  static final String AUDIENCE = "sagegate";

  private TestTokens() {}

  static RSAKey newKey(String kid) {
    try {
      return new RSAKeyGenerator(2048).keyID(kid).keyUse(KeyUse.SIGNATURE).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  static String publicJwks(RSAKey... keys) {
    return new JWKSet(List.of(keys)).toPublicJWKSet().toString();
  }

  /** Claims a default settings object accepts, valid for an hour from {@code now}. */
  static JWTClaimsSet.Builder claims(Instant now) {
    return new JWTClaimsSet.Builder()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .subject("alice")
        .issueTime(Date.from(now))
        .expirationTime(Date.from(now.plusSeconds(3600)));
  }

  static String sign(RSAKey key, JWTClaimsSet claims) {
    return sign(
        key, new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(key.getKeyID()).build(), claims);
  }

  static String sign(RSAKey key, JWSHeader header, JWTClaimsSet claims) {
    try {
      SignedJWT jwt = new SignedJWT(header, claims);
      jwt.sign(new RSASSASigner(key));
      return jwt.serialize();
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Waits for a future the code under test completes (the timeout only guards a hang). */
  static <T> T await(Future<T> future) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw new AssertionError("expected success, got " + e.getCause(), e.getCause());
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static Throwable awaitFailure(Future<?> future) {
    try {
      Object value = future.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      throw new AssertionError("expected a failure, got " + value);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      throw new AssertionError(e);
    }
  }

  static AuthenticationException rejection(Future<?> future) {
    return assertInstanceOf(AuthenticationException.class, awaitFailure(future));
  }
}
