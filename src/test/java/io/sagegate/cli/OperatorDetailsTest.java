package io.sagegate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.auth.DevIssuer;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.GatewayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The start banner and the development issuer's key directory, as an operator reads them. */
class OperatorDetailsTest {

  @TempDir Path dir;

  @Test
  void theKeyDirectoryFollowsSagegateHomeThenHomeThenTheJvmsHome() {
    assertEquals(
        Path.of("/srv/sg/dev-issuer"),
        DevIssuer.defaultDir(Map.of("SAGEGATE_HOME", "/srv/sg", "HOME", "/home/ann"), "/jvm/home"));
    assertEquals(
        Path.of("/home/ann/.sagegate/dev-issuer"),
        DevIssuer.defaultDir(Map.of("HOME", "/home/ann"), "/jvm/home"),
        "$HOME, not the JVM's idea of home, when it is set");
    assertEquals(
        Path.of("/jvm/home/.sagegate/dev-issuer"), DevIssuer.defaultDir(Map.of(), "/jvm/home"));
    assertEquals(
        Path.of("/jvm/home/.sagegate/dev-issuer"),
        DevIssuer.defaultDir(Map.of("SAGEGATE_HOME", " ", "HOME", ""), "/jvm/home"),
        "blank counts as unset");
  }

  @Test
  void serveAndTokenUseTheSameKeyDirectory() {
    assertEquals(DevIssuer.defaultDir(), new ServeCommand().keyDir);
  }

  private GatewayConfig load(String yaml) throws Exception {
    Path file = dir.resolve("gateway.yaml");
    Files.writeString(file, yaml);
    return ConfigLoader.load(file);
  }

  @Test
  void theBannerShowsTheDemoCurlLineOnlyForDemoEndpoints() throws Exception {
    GatewayConfig containers =
        load(
            """
        auth: {devIssuer: true}
        endpoints:
          - {name: fraud-scorer, tags: {env: prod}, backend: {type: container, url: "http://model:8080"}}
        rules:
          - {id: analysts-fraud, effect: allow, principal: {groups: [analysts]}}
          - {id: contractors-deny, effect: deny, principal: {groups: [contractors]}}
        """);
    Path keys = dir.resolve("keys");
    String banner = ServeCommand.banner(containers, 8080, 9464, keys, "java -jar sagegate.jar");
    assertFalse(banner.contains("curl"), banner);
    assertFalse(banner.contains("demo model"), banner);
    assertTrue(banner.contains("fraud-scorer"), banner);
    assertTrue(banner.contains("Rules: analysts-fraud, contractors-deny"), banner);
    assertTrue(banner.contains("Development issuer key: " + keys.toAbsolutePath()), banner);

    GatewayConfig demo = ConfigLoader.embeddedDefault();
    String demoBanner = ServeCommand.banner(demo, 8080, 9464, keys, "java -jar sagegate.jar");
    assertTrue(
        demoBanner.contains("curl") && demoBanner.contains("/endpoints/sentiment-test/invocations"),
        demoBanner);
    assertTrue(
        demoBanner.contains("localhost:8080/endpoints/sentiment-test/openai/v1/chat/completions"),
        demoBanner);
    assertFalse(banner.contains("openai"), banner);
  }

  @Test
  void theBannerShowsTheOpenAiLineOnlyWhereTheDemoEndpointServesThatPath() throws Exception {
    GatewayConfig off =
        load(
            """
        auth: {devIssuer: true}
        endpoints:
          - {name: demo-off, backend: {type: demo, openai: {enabled: false}}}
        rules:
          - {id: all, effect: allow, principal: {groups: [data-scientists]}}
        """);
    String banner =
        ServeCommand.banner(off, 8080, 9464, dir.resolve("keys"), "java -jar sagegate.jar");
    assertTrue(banner.contains("/endpoints/demo-off/invocations"), banner);
    assertFalse(banner.contains("openai"), banner);
  }
}
