package io.sagegate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sagegate.cli.CheckCommandTest.Run;
import io.sagegate.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigCommandTest {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

  @TempDir Path dir;

  @Test
  void effectivePrintsEveryDefaultAndRedactsSecrets() throws Exception {
    Path file = dir.resolve("gw.yaml");
    Files.writeString(
        file,
        """
        auth: {devIssuer: true}
        aws: {region: eu-west-1, externalId: the-external-id-s3cr3t}
        endpoints:
          - name: fraud-scorer
            backend: {type: container, url: "http://fraud-model:8080", timeout: 90s}
        rules:
          - id: everyone
            effect: allow
        """);
    Run r = CheckCommandTest.run(new Main(), "config", "--effective", "--config", file.toString());
    assertEquals(0, r.code(), r.err());
    assertFalse(r.out().contains("the-external-id-s3cr3t"), r.out());

    JsonNode effective = YAML.readTree(r.out());
    // Defaults the file never wrote are filled in, under the keys a file would use.
    assertEquals(120, durationSeconds(effective.at("/server/idleTimeout").asText()));
    assertEquals(10_000, effective.at("/auth/tokenCacheSize").asInt());
    assertEquals("5m", effective.at("/aws/refreshAhead").asText());
    assertTrue(effective.at("/server/eventLoops").isInt());
    assertEquals("90s", effective.at("/endpoints/0/backend/timeout").asText());
    assertEquals("allow", effective.at("/rules/0/effect").asText());
    assertEquals("<redacted>", effective.at("/aws/externalId").asText());
    assertEquals("http://fraud-model:8080", effective.at("/endpoints/0/backend/url").asText());

    // What it prints (its secret put back) is a configuration the gateway reads back to the same
    // one.
    assertEquals(
        ConfigLoader.load(file),
        ConfigLoader.parse(r.out().replace("<redacted>", "the-external-id-s3cr3t"), "effective"));
  }

  @Test
  void userKeyedMapsPrintInKeyOrder() throws Exception {
    Path file = dir.resolve("tags.yaml");
    Files.writeString(
        file,
        """
        auth: {devIssuer: true}
        endpoints:
          - name: fraud-scorer
            tags: {zone: a, team: risk, env: prod, cost: c1, owner: ml, tier: gold}
            backend: {type: container, url: "http://fraud-model:8080"}
        """);
    Run r = CheckCommandTest.run(new Main(), "config", "--effective", "--config", file.toString());
    assertEquals(0, r.code(), r.err());
    // Printed the same way on every run (a Map.copyOf's order changes between JVMs): sorted.
    String out = r.out().substring(r.out().indexOf("tags:"));
    int prev = -1;
    for (String key : new String[] {"cost:", "env:", "owner:", "team:", "tier:", "zone:"}) {
      int at = out.indexOf(key);
      assertTrue(at > prev, key + " out of order in\n" + out);
      prev = at;
    }
  }

  @Test
  void anInvalidFileIsReportedNotPrinted() throws Exception {
    Path file = dir.resolve("bad.yaml");
    Files.writeString(file, "server: {port: 99999}\n");
    Run r = CheckCommandTest.run(new Main(), "config", "--effective", "--config", file.toString());
    assertEquals(1, r.code());
    assertEquals("", r.out());
    assertTrue(r.err().contains("server.port"), r.err());
  }

  @Test
  void withoutAFileItPrintsTheEmbeddedDefault() {
    Run r = CheckCommandTest.run(new Main(), "config", "--effective");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("endpoints:"), r.out());
  }

  private static long durationSeconds(String text) {
    return text.endsWith("m")
        ? Long.parseLong(text.replace("m", "")) * 60
        : Long.parseLong(text.replace("s", ""));
  }
}
