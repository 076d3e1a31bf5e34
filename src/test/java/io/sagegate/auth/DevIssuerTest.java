package io.sagegate.auth;

import static io.sagegate.auth.TestTokens.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jwt.SignedJWT;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.config.AuthSettings;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

@ExtendWith(VertxExtension.class)
class DevIssuerTest {

  @TempDir Path home;

  @Test
  void keyIsCreatedOnceOwnerOnlyAndReused() throws Exception {
    Path dir = home.resolve("dev-issuer");
    DevIssuer first = DevIssuer.loadOrCreate(dir);
    assertTrue(first.created());
    assertEquals(dir.resolve(DevIssuer.KEY_FILE), first.keyFile());
    assertEquals(
        "rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(first.keyFile())));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    // Only the key file: no temporary file left behind.
    try (var files = Files.list(dir)) {
      assertEquals(List.of(first.keyFile()), files.toList());
    }

    DevIssuer second = DevIssuer.loadOrCreate(dir);
    assertFalse(second.created());
    assertEquals(first.publicKeys().toString(), second.publicKeys().toString());

    JWK key = first.publicKeys().getKeys().get(0);
    assertFalse(key.isPrivate());
    assertEquals(key.computeThumbprint().toString(), key.getKeyID());
    assertFalse(first.toString().contains("\"d\""));
  }

  @Test
  void mintedTokenVerifiesThroughTheAuthenticator(Vertx vertx) throws Exception {
    DevIssuer issuer = DevIssuer.loadOrCreate(home);
    String token =
        issuer.mint(
            "alice",
            List.of("data-scientists", "analysts"),
            List.of("invoke", "read"),
            "acme",
            Duration.ofMinutes(15),
            Map.of("team", "risk"));

    SignedJWT jwt = SignedJWT.parse(token);
    assertEquals("RS256", jwt.getHeader().getAlgorithm().getName());
    assertEquals(List.of("data-scientists", "analysts"), jwt.getJWTClaimsSet().getClaim("groups"));
    assertEquals("invoke read", jwt.getJWTClaimsSet().getClaim("scope"));
    assertTrue(jwt.getJWTClaimsSet().getJWTID() != null);

    JwtAuthenticator auth =
        await(
            JwtAuthenticator.start(
                vertx, AuthSettings.devDefaults(), new SimpleMeterRegistry(), home));
    try {
      Caller caller = await(auth.authenticate(token));
      assertEquals("alice", caller.subject());
      assertEquals(AuthSettings.DEV_ISSUER, caller.issuer());
      assertEquals(Set.of("data-scientists", "analysts"), caller.groups());
      assertEquals(Set.of("invoke", "read"), caller.scopes());
      assertEquals("acme", caller.tenant());
      assertEquals("risk", caller.claims().get("team"));
      long ttl =
          caller.expiresAt().getEpochSecond()
              - jwt.getJWTClaimsSet().getIssueTime().toInstant().getEpochSecond();
      assertEquals(15 * 60, ttl);
    } finally {
      auth.close();
    }
  }

  @Test
  void authenticatorCreatesTheDevKeyWhenThereIsNone(Vertx vertx) {
    Path dir = home.resolve("fresh");
    JwtAuthenticator auth =
        await(
            JwtAuthenticator.start(
                vertx, AuthSettings.devDefaults(), new SimpleMeterRegistry(), dir));
    try {
      assertTrue(Files.exists(dir.resolve(DevIssuer.KEY_FILE)));
      String token =
          DevIssuer.loadOrCreate(dir).mint("bob", null, null, null, Duration.ofMinutes(1), null);
      assertEquals("bob", await(auth.authenticate(token)).subject());
    } finally {
      auth.close();
    }
  }

  @Test
  void reservedClaimsAndBadArgumentsAreRefused() {
    DevIssuer issuer = DevIssuer.loadOrCreate(home);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> issuer.mint("a", null, null, null, Duration.ofMinutes(1), Map.of("iss", "evil")));
    assertTrue(e.getMessage().contains("iss"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> issuer.mint(" ", null, null, null, Duration.ofMinutes(1), null));
    assertThrows(
        IllegalArgumentException.class,
        () -> issuer.mint("a", null, null, null, Duration.ZERO, null));
  }

  @Test
  void corruptKeyFileIsReportedByName() throws Exception {
    Files.writeString(home.resolve(DevIssuer.KEY_FILE), "{\"kty\":\"oct\",\"k\":\"AAAA\"}");
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> DevIssuer.loadOrCreate(home));
    assertTrue(e.getMessage().contains(DevIssuer.KEY_FILE), e.getMessage());
  }

  @Test
  void devIssuerRejectsAConflictingIssuerSetting(Vertx vertx) {
    AuthSettings wrong =
        new AuthSettings(
            "https://elsewhere",
            List.of("sagegate"),
            null,
            null,
            null,
            true,
            null,
            null,
            0,
            null,
            null,
            0,
            null);
    Throwable e =
        TestTokens.awaitFailure(
            JwtAuthenticator.start(vertx, wrong, new SimpleMeterRegistry(), home));
    assertTrue(e.getMessage().contains("auth.issuer"), e.getMessage());
  }

  @Test
  void defaultDirFollowsSagegateHome() {
    String env = System.getenv("SAGEGATE_HOME");
    Path expected =
        env != null && !env.isBlank()
            ? Path.of(env, "dev-issuer")
            : Path.of(System.getProperty("user.home"), ".sagegate", "dev-issuer");
    assertEquals(expected, DevIssuer.defaultDir());
  }
}
