package io.sagegate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.auth.Caller;
import io.sagegate.auth.DevIssuer;
import io.sagegate.auth.JwtAuthenticator;
import io.sagegate.config.AuthSettings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.TypeConversionException;

@ExtendWith(VertxExtension.class)
class TokenCommandTest {

  @TempDir Path keyDir;

  private record Run(int exit, String out, String err) {}

  private Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new TokenCommand());
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(err));
    int exit = cli.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void printsOnlyAVerifiableToken(Vertx vertx) throws Exception {
    Run first =
        run(
            "--sub",
            "alice",
            "--groups",
            "data-scientists,analysts",
            "--groups",
            "extra",
            "--scopes",
            "invoke",
            "--tenant",
            "acme",
            "--ttl",
            "15m",
            "--claim",
            "team=risk",
            "--claim",
            "level=3",
            "--claim",
            "realm_access={\"roles\":[\"r1\"]}",
            "--key-dir",
            keyDir.toString());
    assertEquals(0, first.exit(), first.err());
    String token = first.out().trim();
    assertEquals(first.out(), token + System.lineSeparator(), "stdout is the token alone");
    assertEquals(3, token.split("\\.").length);
    assertTrue(first.err().contains(keyDir.resolve(DevIssuer.KEY_FILE).toString()), first.err());

    JwtAuthenticator auth =
        await(
            JwtAuthenticator.start(
                vertx, AuthSettings.devDefaults(), new SimpleMeterRegistry(), keyDir));
    try {
      Caller caller = await(auth.authenticate(token));
      assertEquals("alice", caller.subject());
      assertEquals(Set.of("data-scientists", "analysts", "extra"), caller.groups());
      assertEquals(Set.of("invoke"), caller.scopes());
      assertEquals("acme", caller.tenant());
      assertEquals("risk", caller.claims().get("team"));
      assertEquals(3L, ((Number) caller.claims().get("level")).longValue());
      assertEquals(List.of("r1"), Caller.claim(caller.claims(), "realm_access.roles"));
      long secondsLeft = Duration.between(Instant.now(), caller.expiresAt()).toSeconds();
      assertTrue(secondsLeft > 14 * 60 && secondsLeft <= 15 * 60, "ttl " + secondsLeft);
    } finally {
      auth.close();
    }

    Run second = run("--sub", "bob", "--key-dir", keyDir.toString());
    assertEquals(0, second.exit(), second.err());
    assertEquals("", second.err(), "no new key, nothing on stderr");
  }

  @Test
  void missingSubjectIsAUsageError() {
    Run r = run("--key-dir", keyDir.toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("--sub"), r.err());
    assertEquals("", r.out());
  }

  @Test
  void badTtlIsAUsageErrorNamingTheValue() {
    Run r = run("--sub", "a", "--ttl", "soon", "--key-dir", keyDir.toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("soon"), r.err());
    assertEquals("", r.out());
  }

  @Test
  void reservedClaimIsAUsageError() {
    Run r = run("--sub", "a", "--claim", "exp=1", "--key-dir", keyDir.toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("exp"), r.err());
  }

  @Test
  void ttlAcceptsShortAndIsoForms() {
    TokenCommand.TtlConverter c = new TokenCommand.TtlConverter();
    assertEquals(Duration.ofMinutes(15), c.convert("15m"));
    assertEquals(Duration.ofHours(1), c.convert("1h"));
    assertEquals(Duration.ofSeconds(3600), c.convert("3600s"));
    assertEquals(Duration.ofDays(1), c.convert("1d"));
    assertEquals(Duration.ofHours(1), c.convert("PT1H"));
    assertThrows(TypeConversionException.class, () -> c.convert("0s"));
    assertThrows(TypeConversionException.class, () -> c.convert("-5m"));
    assertThrows(TypeConversionException.class, () -> c.convert("1 week"));
  }

  @Test
  void unusableKeyDirIsReported() throws Exception {
    Path file = keyDir.resolve("a-file");
    java.nio.file.Files.writeString(file, "x");
    Run r = run("--sub", "a", "--key-dir", file.toString());
    assertEquals(1, r.exit());
    assertTrue(r.err().contains(file.toString()), r.err());
    assertEquals("", r.out());
  }
}
