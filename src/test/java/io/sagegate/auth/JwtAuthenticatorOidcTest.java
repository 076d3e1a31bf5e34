package io.sagegate.auth;

import static io.sagegate.auth.TestTokens.await;
import static io.sagegate.auth.TestTokens.awaitFailure;
import static io.sagegate.auth.TestTokens.rejection;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.auth.AuthenticationException.Reason;
import io.sagegate.config.AuthSettings;
import io.sagegate.config.ClaimMapping;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import java.util.Map;
import java.util.Set;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** JwtAuthenticator against a real OIDC provider (mock-oauth2-server) over HTTP. */
@ExtendWith(VertxExtension.class)
class JwtAuthenticatorOidcTest {

  private static final String IDP = "idp";

  private MockOAuth2Server server;
  private Vertx vertx;
  private JwtAuthenticator auth;
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
    server = new MockOAuth2Server();
    server.start();
  }

  @AfterEach
  void tearDown() {
    if (auth != null) {
      auth.close();
    }
    server.shutdown();
  }

  private AuthSettings settings(String issuer, String discoveryUrl, String jwksUri) {
    return new AuthSettings(
        issuer,
        List.of("sagegate"),
        discoveryUrl,
        jwksUri,
        null,
        false,
        null,
        null,
        0,
        null,
        null,
        0,
        new ClaimMapping(null, "realm_access.roles", null, null));
  }

  private String issuer() {
    return server.issuerUrl(IDP).toString();
  }

  private String token(String subject, List<String> audience) {
    return server
        .issueToken(
            IDP,
            "client-1",
            new DefaultOAuth2TokenCallback(
                IDP,
                subject,
                "JWT",
                audience,
                Map.of("realm_access", Map.of("roles", List.of("analysts"))),
                3600))
        .serialize();
  }

  @Test
  void discoverySourceVerifiesTheProvidersTokens() {
    auth =
        await(
            JwtAuthenticator.start(
                vertx,
                settings(issuer(), server.wellKnownUrl(IDP).toString(), null),
                registry,
                null));
    assertTrue(auth.ready());
    Caller caller = await(auth.authenticate(token("alice", List.of("sagegate"))));
    assertEquals("alice", caller.subject());
    assertEquals(issuer(), caller.issuer());
    assertEquals(Set.of("analysts"), caller.groups());
    assertEquals(
        Reason.AUDIENCE,
        rejection(auth.authenticate(token("alice", List.of("someone-else")))).reason());
  }

  @Test
  void jwksUriSourceVerifiesTheProvidersTokens() {
    auth =
        await(
            JwtAuthenticator.start(
                vertx, settings(issuer(), null, server.jwksUrl(IDP).toString()), registry, null));
    assertEquals("bob", await(auth.authenticate(token("bob", List.of("sagegate")))).subject());
  }

  @Test
  void tokenOfAnotherIssuerOnTheSameProviderIsRejected() {
    auth =
        await(
            JwtAuthenticator.start(
                vertx,
                settings(issuer(), server.wellKnownUrl(IDP).toString(), null),
                registry,
                null));
    String foreign =
        server
            .issueToken(
                "other",
                "client-1",
                new DefaultOAuth2TokenCallback(
                    "other", "mallory", "JWT", List.of("sagegate"), Map.of(), 3600))
            .serialize();
    // Its key id is not in this issuer's JWKS: a refresh is tried (rate-limited), then refused.
    assertEquals(Reason.UNKNOWN_KID, rejection(auth.authenticate(foreign)).reason());
  }

  @Test
  void discoveryNamingAnotherIssuerFailsStart() {
    String discovery = server.wellKnownUrl(IDP).toString();
    Throwable e =
        awaitFailure(
            JwtAuthenticator.start(
                vertx, settings("https://expected.example", discovery, null), registry, null));
    assertTrue(e.getMessage().contains(discovery), e.getMessage());
    assertTrue(e.getMessage().contains("https://expected.example"), e.getMessage());
    assertEquals(
        1.0,
        registry
            .get(JwtAuthenticator.REFRESH_METRIC)
            .tag("trigger", "start")
            .tag("result", "failed")
            .counter()
            .count());
  }

  @Test
  void unreachableJwksFailsStartNamingTheUrl() {
    String closed = "http://127.0.0.1:1/jwks";
    Throwable e =
        awaitFailure(
            JwtAuthenticator.start(vertx, settings(issuer(), null, closed), registry, null));
    assertTrue(e.getMessage().contains(closed), e.getMessage());
  }
}
