package io.sagegate.cli;

import static io.sagegate.cli.CheckCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.cli.CheckCommandTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExplainCommandTest {

  @TempDir Path dir;

  @Test
  void analystIsAllowedTheFraudScorer() {
    Run r =
        run(
            new ExplainCommand(),
            "--config",
            "conf/local.yaml",
            "--claims",
            "{\"sub\":\"bob\",\"groups\":[\"analysts\"]}",
            "--endpoint",
            "fraud-scorer");
    assertEquals(0, r.code(), r.err());
    assertTrue(
        r.out()
            .startsWith(
                "Decision:     ALLOW\nRule:         analysts-fraud-scorer\n"
                    + "Description:  Analysts may invoke the fraud scorer.\n"),
        r.out());
    assertTrue(r.out().contains("Also matched: (none)"), r.out());
    assertTrue(
        r.out().contains("contractors-deny-prod  deny   does not match: principal.groups"),
        r.out());
  }

  @Test
  void contractorDenyWinsAndOtherMatchesAreListed() {
    Run r =
        run(
            new ExplainCommand(),
            "--config",
            "conf/local.yaml",
            "--claims",
            "{\"sub\":\"bob\",\"groups\":[\"analysts\",\"contractors\"]}",
            "--endpoint",
            "Fraud-Scorer");
    assertEquals(2, r.code(), r.err());
    assertTrue(
        r.out()
            .startsWith(
                "Decision:     DENY\nRule:         contractors-deny-prod\n"
                    + "Description:  Contractors are never allowed anything tagged env=prod.\n"),
        r.out());
    assertTrue(r.out().contains("Also matched: analysts-fraud-scorer (allow)"), r.out());
  }

  @Test
  void noMatchingRuleIsDefaultDeny() {
    Run r =
        run(
            new ExplainCommand(),
            "--claims",
            "{\"sub\":\"eve\"}",
            "--endpoint",
            "sentiment-test",
            "--action",
            "invoke-async");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.out().startsWith("Decision:     DENY\nRule:         default-deny\n"), r.out());
  }

  @Test
  void nullValuedClaimsAreLeftOutAsTheGatewayLeavesThemOut() {
    // IdPs do send "tenant": null; the gateway drops null claims, so explain must not fail on them.
    Run r =
        run(
            new ExplainCommand(),
            "--claims",
            "{\"sub\":\"bob\",\"tenant\":null,\"groups\":[\"analysts\"]}",
            "--endpoint",
            "fraud-scorer");
    assertEquals(0, r.code(), r.err());
    assertTrue(
        r.out().startsWith("Decision:     ALLOW\nRule:         analysts-fraud-scorer\n"), r.out());
    assertTrue(r.out().contains("tenant=(none)"), r.out());
  }

  @Test
  void unknownEndpointSaysSo() {
    Run r =
        run(
            new ExplainCommand(),
            "--claims",
            "{\"sub\":\"bob\",\"groups\":[\"ml-engineers\"]}",
            "--endpoint",
            "nope");
    assertEquals(2, r.code());
    assertTrue(r.out().contains("endpoint 'nope' is not configured"), r.out());
    assertTrue(r.out().contains("Rule:         unknown-endpoint\n"), r.out());
  }

  @Test
  void conditionsUseSourceIpAndTargets() throws Exception {
    Path f = dir.resolve("cond.yaml");
    Files.writeString(
        f,
        """
        endpoints: [{name: m, backend: {type: demo}}]
        rules:
          - id: office-blue
            effect: allow
            description: Office network, blue variant only.
            conditions: {sourceCidrs: [10.0.0.0/8, "fd00::/8"], targetVariants: [blue]}
        """);
    String[] base = {"--config", f.toString(), "--claims", "{}", "--endpoint", "m"};
    Run ok =
        run(
            new ExplainCommand(),
            concat(base, "--source-ip", "fd00::1", "--target-variant", "blue"));
    assertEquals(0, ok.code(), ok.out() + ok.err());
    Run noVariant = run(new ExplainCommand(), concat(base, "--source-ip", "10.1.1.1"));
    assertEquals(2, noVariant.code());
    assertTrue(
        noVariant.out().contains("does not match: conditions.targetVariants"), noVariant.out());
    Run outside =
        run(
            new ExplainCommand(),
            concat(base, "--source-ip", "192.168.0.1", "--target-variant", "blue"));
    assertEquals(2, outside.code());
    assertTrue(outside.out().contains("does not match: conditions.sourceCidrs"), outside.out());
  }

  @Test
  void withoutASourceIpARuleThatTurnsOnTheAddressIsNamed() throws Exception {
    Path f = dir.resolve("office-deny.yaml");
    Files.writeString(
        f,
        """
        endpoints: [{name: m, backend: {type: demo}}]
        rules:
          - id: everyone
            effect: allow
          - id: no-guest-network
            effect: deny
            conditions: {sourceCidrs: [10.0.0.0/8]}
        """);
    String[] base = {"--config", f.toString(), "--claims", "{}", "--endpoint", "m"};
    Run noAddress = run(new ExplainCommand(), base);
    // The decision stays what the rules give without an address, but it is not the whole story:
    // from inside 10.0.0.0/8 the gateway would deny.
    assertEquals(0, noAddress.code(), noAddress.out() + noAddress.err());
    assertTrue(
        noAddress.err().contains("no --source-ip given: no-guest-network (deny)"), noAddress.err());
    assertTrue(noAddress.err().contains("give --source-ip"), noAddress.err());

    Run inside = run(new ExplainCommand(), concat(base, "--source-ip", "10.1.1.1"));
    assertEquals(2, inside.code());
    assertTrue(inside.out().contains("Rule:         no-guest-network"), inside.out());
    assertTrue(inside.err().isEmpty(), inside.err());
  }

  @Test
  void badInputIsExitCodeOneWithAMessage() {
    Run badJson = run(new ExplainCommand(), "--claims", "{\"sub\":", "--endpoint", "fraud-scorer");
    assertEquals(1, badJson.code());
    assertTrue(badJson.err().startsWith("explain: --claims: not valid JSON"), badJson.err());
    Run array = run(new ExplainCommand(), "--claims", "[1]", "--endpoint", "fraud-scorer");
    assertEquals(1, array.code());
    assertTrue(array.err().contains("--claims: expected a JSON object"), array.err());
    Run action =
        run(
            new ExplainCommand(),
            "--claims",
            "{}",
            "--endpoint",
            "fraud-scorer",
            "--action",
            "delete");
    assertEquals(1, action.code());
    assertTrue(
        action
            .err()
            .contains("--action: 'delete' is not one of invoke, invoke-stream," + " invoke-async"),
        action.err());
    Run ip =
        run(
            new ExplainCommand(),
            "--claims",
            "{}",
            "--endpoint",
            "fraud-scorer",
            "--source-ip",
            "example.com");
    assertEquals(1, ip.code());
    assertTrue(ip.err().contains("--source-ip: 'example.com' is not an IPv4 or IPv6 address"));
    Run unknownOption = run(new ExplainCommand(), "--claims", "{}", "--endpoint", "x", "--bogus");
    assertEquals(1, unknownOption.code(), "a usage error is bad input, not a denial");
    assertTrue(unknownOption.err().contains("--bogus"), unknownOption.err());
    Run missing = run(new ExplainCommand(), "--endpoint", "fraud-scorer");
    assertEquals(1, missing.code());
    assertTrue(missing.err().contains("--claims: required"), missing.err());
  }

  /**
   * --input-location is an input like any other: it decides a rule's inputLocations condition and
   * the endpoint's asyncInputPrefixes, as the gateway decides them.
   */
  @Test
  void inputLocationDecidesConditionsAndTheEndpointsPrefixes() throws Exception {
    Path f = dir.resolve("async.yaml");
    Files.writeString(
        f,
        """
        auth: {devIssuer: true}
        aws: {region: eu-west-1, accountId: "111122223333"}
        endpoints:
          - name: scorer
            backend:
              type: sagemaker
              roleArn: arn:aws:iam::111122223333:role/invoke
              asyncInputPrefixes: [s3://ml-inputs/fraud/]
        rules:
          - id: secret-deny
            effect: deny
            conditions: {inputLocations: [s3://ml-inputs/fraud/secret/]}
          - id: all
            effect: allow
        """);
    String[] base = {
      "--config",
      f.toString(),
      "--claims",
      "{\"sub\":\"bob\"}",
      "--endpoint",
      "scorer",
      "--action",
      "invoke-async"
    };
    Run allowed =
        run(
            new ExplainCommand(),
            concat(base, "--input-location", "s3://ml-inputs/fraud/public/a.json"));
    assertEquals(0, allowed.code(), allowed.out() + allowed.err());
    assertTrue(allowed.out().startsWith("Decision:     ALLOW\nRule:         all\n"), allowed.out());
    Run secret =
        run(
            new ExplainCommand(),
            concat(base, "--input-location", "s3://ml-inputs/fraud/secret/a.json"));
    assertEquals(2, secret.code());
    assertTrue(
        secret.out().startsWith("Decision:     DENY\nRule:         secret-deny\n"), secret.out());
    Run outside =
        run(new ExplainCommand(), concat(base, "--input-location", "s3://ml-inputs/other/a.json"));
    assertEquals(2, outside.code());
    assertTrue(
        outside.out().startsWith("Decision:     DENY\nRule:         endpoint-input-prefixes\n"),
        outside.out());
    Run sync =
        run(
            new ExplainCommand(),
            "--config",
            f.toString(),
            "--claims",
            "{}",
            "--endpoint",
            "scorer",
            "--input-location",
            "s3://ml-inputs/fraud/a.json");
    assertEquals(1, sync.code());
    assertTrue(
        sync.err().contains("--input-location: only an invoke-async call has one"), sync.err());
  }

  @Test
  void invalidConfigIsBadInput() throws Exception {
    Path f = dir.resolve("bad.yaml");
    Files.writeString(f, "rules: [{id: r, effect: maybe}]\n");
    Run r =
        run(new ExplainCommand(), "--config", f.toString(), "--claims", "{}", "--endpoint", "x");
    assertEquals(1, r.code());
    assertTrue(
        r.err().contains(f + ": rules[0].effect: 'maybe' is not one of allow, deny"), r.err());
  }

  private static String[] concat(String[] a, String... b) {
    String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
