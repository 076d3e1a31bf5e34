package io.sagegate.cli;

import static io.sagegate.cli.CheckCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code check} validates limits like rules; {@code explain} lists the limits that would apply. */
class LimitsCliTest {

  private static final String BASE =
      """
      auth: {devIssuer: true}
      endpoints:
        - name: fraud-scorer
          tags: {team: risk}
          maxConcurrency: 8
          backend: {type: demo}
      rules:
        - id: all
          effect: allow
          principal: {groups: [analysts]}
      """;

  @Test
  void checkReportsEveryBadLimitWithItsField(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(
        file,
        BASE
            + """
        limits:
          - id: a
            rate: 0
          - id: a
            rate: 5
            mode: enforcing
          - id: b
            rate: 5
            onStoreError: retry
            actions: [read]
        """);
    CheckCommandTest.Run r = run(new CheckCommand(), "--config", file.toString());
    assertEquals(1, r.code(), r.out() + r.err());
    String all = r.out() + r.err();
    assertTrue(all.contains("limits[0].rate"), all);
    assertTrue(all.contains("limits[1].id") && all.contains("also the id of limits[0]"), all);
    assertTrue(
        all.contains("limits[1].mode") && all.contains("'enforcing' is not one of enforce, shadow"),
        all);
    assertTrue(all.contains("limits[2].onStoreError") && all.contains("open, closed, local"), all);
    assertTrue(all.contains("limits[2].actions") && all.contains("'read'"), all);
  }

  @Test
  void checkReportsABadTokenLimitWithItsField(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(
        file,
        BASE
            + """
        limits:
          - id: a
            unit: tokens
            rate: 1000
            estimate: {bytesPerToken: 0, completionTokens: -1}
          - id: b
            unit: words
            rate: 5
        """);
    CheckCommandTest.Run r = run(new CheckCommand(), "--config", file.toString());
    assertEquals(1, r.code(), r.out() + r.err());
    String all = r.out() + r.err();
    assertTrue(all.contains("limits[0].estimate.bytesPerToken"), all);
    assertTrue(all.contains("limits[0].estimate.completionTokens"), all);
    assertTrue(all.contains("limits[1].unit") && all.contains("calls, tokens"), all);
  }

  @Test
  void checkRefusesAZeroConcurrencyCap(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, BASE.replace("maxConcurrency: 8", "maxConcurrency: 0"));
    CheckCommandTest.Run r = run(new CheckCommand(), "--config", file.toString());
    assertEquals(1, r.code());
    assertTrue((r.out() + r.err()).contains("endpoints[0].maxConcurrency"), r.out() + r.err());
  }

  @Test
  void explainListsTheLimitsThatWouldApply(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("ok.yaml");
    Files.writeString(
        file,
        BASE
            + """
        limits:
          - id: per-analyst
            principal: {groups: [analysts]}
            resource: {tags: {team: [risk]}}
            key: [subject]
            rate: 10
            per: 1m
            burst: 20
            dailyQuota: 1000
          - id: for-others
            principal: {groups: [contractors]}
            rate: 1
        """);
    CheckCommandTest.Run r =
        run(
            new ExplainCommand(),
            "--config",
            file.toString(),
            "--claims",
            "{\"sub\":\"bob\",\"groups\":[\"analysts\"]}",
            "--endpoint",
            "fraud-scorer");
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(r.out().contains("Limits that would apply:"), r.out());
    assertTrue(r.out().contains("maxConcurrency  8 calls in flight"), r.out());
    assertTrue(
        r.out()
            .contains(
                "per-analyst  10 per 1m, burst 20, daily quota 1000, enforce,"
                    + " onStoreError open, counted under key per-analyst|fraud-scorer|bob"),
        r.out());
    assertTrue(!r.out().contains("for-others"), r.out());
  }
}
