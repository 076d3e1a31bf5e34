package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.testsupport.aws.BearerTokenVerifier;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.regions.Region;

/** Minting against an independent verifier (the emulator's), expiry, caching with the session. */
class BearerTokensTest {

  private static final Instant NOW = Instant.parse("2026-05-20T10:00:00.250Z");
  private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
  private static final AwsSessionCredentials SESSION =
      AwsSessionCredentials.create(
          "ASIAEXAMPLE123", "secret/key+value", "session-token/with+chars=");

  private static ScopedCredentials session(AwsSessionCredentials c, Instant expiration) {
    return new ScopedCredentials(
        c, "arn:aws:iam::123456789012:role/r", "alice", "alice", expiration);
  }

  private static String url(String token) {
    return new String(
        Base64.getDecoder().decode(token.substring(BearerTokens.PREFIX.length())),
        StandardCharsets.UTF_8);
  }

  @Test
  void aMintedTokenVerifiesAndCarriesWhatTheSpecSays() throws Exception {
    String token = BearerTokens.mint(SESSION, Region.EU_WEST_1, Duration.ofMinutes(15), CLOCK);
    assertTrue(token.startsWith("sagemaker-api-key-"));
    String url = url(token);
    assertTrue(url.startsWith("sagemaker.amazonaws.com/?"), url);
    assertTrue(url.contains("Action=CallWithBearerToken"), url);
    assertTrue(
        url.contains(
            "X-Amz-Credential=ASIAEXAMPLE123%2F20260520%2Feu-west-1%2Fsagemaker%2Faws4_request"),
        url);
    assertTrue(url.contains("X-Amz-Expires=900"), url);
    assertTrue(url.contains("X-Amz-Security-Token=session-token%2Fwith%2Bchars%3D"), url);
    assertTrue(url.endsWith("&Version=1"), url);
    BearerTokenVerifier.Token verified =
        new BearerTokenVerifier(CLOCK)
            .verify(token, Map.of("ASIAEXAMPLE123", "secret/key+value")::get);
    assertEquals("eu-west-1", verified.region());
    assertEquals("session-token/with+chars=", verified.sessionToken());
    assertEquals(Instant.parse("2026-05-20T10:15:00Z"), verified.expires());
  }

  @Test
  void aWrongSecretOrAnExpiredTokenIsRefused() {
    String token = BearerTokens.mint(SESSION, Region.EU_WEST_1, Duration.ofSeconds(60), CLOCK);
    assertThrows(
        BearerTokenVerifier.Refused.class,
        () -> new BearerTokenVerifier(CLOCK).verify(token, Map.of("ASIAEXAMPLE123", "other")::get));
    assertThrows(
        BearerTokenVerifier.Refused.class,
        () ->
            new BearerTokenVerifier(Clock.fixed(NOW.plusSeconds(61), ZoneOffset.UTC))
                .verify(token, Map.of("ASIAEXAMPLE123", "secret/key+value")::get));
    String tampered =
        BearerTokens.PREFIX
            + Base64.getEncoder()
                .encodeToString(
                    url(token).replace("eu-west-1", "us-east-1").getBytes(StandardCharsets.UTF_8));
    assertThrows(
        BearerTokenVerifier.Refused.class,
        () ->
            new BearerTokenVerifier(CLOCK)
                .verify(tampered, Map.of("ASIAEXAMPLE123", "secret/key+value")::get));
  }

  @Test
  void expiryIsNoLaterThanTheSessionAndWithinAwsRange() {
    assertEquals(Duration.ofSeconds(599), BearerTokens.expiry(NOW, NOW.plusMillis(599_900)));
    assertEquals(BearerTokens.MAX_EXPIRY, BearerTokens.expiry(NOW, NOW.plus(Duration.ofHours(36))));
    assertEquals(Duration.ofSeconds(1), BearerTokens.expiry(NOW, NOW.minusSeconds(5)));
    assertThrows(
        IllegalArgumentException.class,
        () -> BearerTokens.mint(SESSION, Region.EU_WEST_1, Duration.ofHours(13), CLOCK));
    // X-Amz-Date (truncated to the second) plus X-Amz-Expires never passes the session's end.
    Instant sessionEnd = NOW.plusMillis(599_900);
    BearerTokens tokens = new BearerTokens(CLOCK);
    String url = url(tokens.token(session(SESSION, sessionEnd), Region.EU_WEST_1));
    assertTrue(
        url.contains("X-Amz-Date=20260520T100000Z") && url.contains("X-Amz-Expires=599"), url);
  }

  @Test
  void cachedWithTheSessionAndMintedAgainAfterInvalidation() {
    BearerTokens tokens = new BearerTokens(CLOCK);
    ScopedCredentials s = session(SESSION, NOW.plus(Duration.ofHours(1)));
    String first = tokens.token(s, Region.EU_WEST_1);
    assertEquals(first, tokens.token(s, Region.EU_WEST_1), "cached with the session");
    AwsSessionCredentials renewed = AwsSessionCredentials.create("ASIARENEWED", "s2", "t2");
    assertNotEquals(
        first, tokens.token(session(renewed, NOW.plus(Duration.ofHours(1))), Region.EU_WEST_1));
    assertNotEquals(first, tokens.token(s, Region.US_EAST_1), "minted for the endpoint's region");
    tokens.invalidate(s);
    assertTrue(tokens.token(s, Region.EU_WEST_1).startsWith(BearerTokens.PREFIX));
  }
}
