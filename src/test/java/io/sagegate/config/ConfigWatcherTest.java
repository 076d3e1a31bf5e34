package io.sagegate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigWatcherTest {

  private static final Duration NEVER = Duration.ofHours(1);

  @TempDir Path dir;
  private Vertx vertx;
  private SimpleMeterRegistry registry;
  private Path file;
  private GatewayConfig initial;
  private final List<GatewayConfig> reloads = new CopyOnWriteArrayList<>();

  @BeforeEach
  void setUp() throws Exception {
    vertx = Vertx.vertx();
    registry = new SimpleMeterRegistry();
    file = dir.resolve("gateway.yaml");
    Files.writeString(file, ConfigLoader.embeddedYaml());
    initial = ConfigLoader.load(file);
  }

  @AfterEach
  void tearDown() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void unchangedFileIsUnchanged() throws Exception {
    try (ConfigWatcher w = start(NEVER)) {
      assertEquals(ReloadResult.Status.UNCHANGED, await(w.checkNow()).status());
      Files.writeString(file, "# only a comment changed\n" + ConfigLoader.embeddedYaml());
      assertEquals(ReloadResult.Status.UNCHANGED, await(w.checkNow()).status());
      assertTrue(reloads.isEmpty());
      assertEquals(0.0, count("ok"));
      assertSame(initial, w.current());
    }
  }

  @Test
  void changedRulesAreReloaded() throws Exception {
    try (ConfigWatcher w = start(NEVER)) {
      Files.writeString(
          file,
          ConfigLoader.embeddedYaml()
              .replace("id: ml-engineers-all", "id: ml-engineers-everything"));
      ReloadResult r = await(w.checkNow());
      assertEquals(ReloadResult.Status.RELOADED, r.status());
      assertEquals(1, reloads.size());
      assertEquals("ml-engineers-everything", reloads.get(0).rules().get(3).id());
      assertEquals(reloads.get(0), w.current());
      assertEquals(1.0, count("ok"));
      assertEquals(ReloadResult.Status.UNCHANGED, await(w.checkNow()).status());
    }
  }

  @Test
  void invalidFileIsRejectedAndTheLastGoodConfigKeepsServing() throws Exception {
    try (ConfigWatcher w = start(NEVER)) {
      Files.writeString(file, "rules:\n  - id: [unclosed\n");
      ReloadResult r = await(w.checkNow());
      assertEquals(ReloadResult.Status.REJECTED, r.status());
      assertTrue(
          r.errors().get(0).toString().startsWith(file + ": not valid YAML"),
          r.errors().toString());
      assertTrue(reloads.isEmpty());
      assertEquals(1.0, count("failed"));
      assertSame(initial, w.current());

      Files.writeString(file, ConfigLoader.embeddedYaml().replace("effect: allow", "effect: alow"));
      r = await(w.checkNow());
      assertEquals(ReloadResult.Status.REJECTED, r.status());
      assertEquals(3, r.errors().size(), r.errors().toString());
      assertEquals("rules[1].effect", r.errors().get(0).field());
      assertEquals(2.0, count("failed"));
      // The same broken content is reported once, not at every poll.
      assertEquals(ReloadResult.Status.UNCHANGED, await(w.checkNow()).status());
      assertEquals(2.0, count("failed"));
      assertSame(initial, w.current());
    }
  }

  @Test
  void missingFileIsRejected() throws Exception {
    try (ConfigWatcher w = start(NEVER)) {
      Files.delete(file);
      ReloadResult r = await(w.checkNow());
      assertEquals(ReloadResult.Status.REJECTED, r.status());
      assertTrue(r.errors().get(0).message().startsWith("cannot read the file"));
      assertSame(initial, w.current());
    }
  }

  @Test
  void restartOnlySectionsAreNotAppliedLive() throws Exception {
    try (ConfigWatcher w = start(NEVER)) {
      Files.writeString(
          file,
          ConfigLoader.embeddedYaml()
              .replace("port: 8080", "port: 8081")
              .replace("name: sentiment-test", "name: sentiment-prod"));
      ReloadResult r = await(w.checkNow());
      assertEquals(ReloadResult.Status.RELOADED, r.status());
      assertEquals(8080, w.current().server().port(), "server settings need a restart");
      assertEquals("sentiment-prod", w.current().endpoints().get(1).name());

      Files.writeString(
          file,
          ConfigLoader.embeddedYaml()
              .replace("port: 8080", "port: 8082")
              .replace("name: sentiment-test", "name: sentiment-prod"));
      assertEquals(ReloadResult.Status.UNCHANGED, await(w.checkNow()).status());
    }
  }

  @Test
  void commandLinePortsAreNotTakenForAServerChangeOnReload() throws Exception {
    // serve --config FILE --port 18081 --management-port 19465: the running server settings are
    // the file's with the two ports laid over them, and the file itself never changed them.
    java.util.function.UnaryOperator<GatewayConfig> ports =
        c ->
            new GatewayConfig(
                c.server().withPorts(18081, 19465),
                c.auth(),
                c.audit(),
                c.aws(),
                c.endpoints(),
                c.rules());
    java.io.PrintStream stderr = System.err;
    java.io.ByteArrayOutputStream logged = new java.io.ByteArrayOutputStream();
    try (ConfigWatcher w =
        ConfigWatcher.startAsync(
            vertx,
            file,
            ports.apply(initial),
            c -> {
              reloads.add(c);
              return Future.succeededFuture();
            },
            registry,
            NEVER,
            ports)) {
      System.setErr(new java.io.PrintStream(logged, true, java.nio.charset.StandardCharsets.UTF_8));
      Files.writeString(
          file,
          ConfigLoader.embeddedYaml().replace("name: sentiment-test", "name: sentiment-prod"));
      assertEquals(ReloadResult.Status.RELOADED, await(w.checkNow()).status());
    } finally {
      System.setErr(stderr);
    }
    String log = logged.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertTrue(log.contains("reloaded"), log);
    assertTrue(!log.contains("not applied until restart"), "no server change was made: " + log);
    assertEquals(18081, reloads.get(0).server().port());
  }

  @Test
  void endpointsAreCheckedAgainstTheAwsSettingsTheGatewayStartedWith() throws Exception {
    try (ConfigWatcher w = start(NEVER)) {
      // Valid on its own (it brings an aws block), but the running gateway has no aws settings
      // and those apply only at restart: the sagemaker endpoint could not be served.
      Files.writeString(
          file,
          "aws: {region: eu-west-1}\n"
              + ConfigLoader.embeddedYaml()
                  .replace(
                      "    backend: {type: demo}\n  - name: sentiment-test",
                      "    backend: {type: sagemaker, roleArn: \"arn:aws:iam::111122223333:role/invoke\"}\n"
                          + "  - name: sentiment-test"));
      ReloadResult r = await(w.checkNow());
      assertEquals(ReloadResult.Status.REJECTED, r.status(), r.toString());
      assertEquals(1, r.errors().size(), r.errors().toString());
      assertEquals("aws.region", r.errors().get(0).field());
      assertTrue(
          r.errors().get(0).message().contains("'fraud-scorer' has a sagemaker backend"),
          r.errors().toString());
      assertTrue(r.errors().get(0).message().contains("started with"), r.errors().toString());
      assertTrue(reloads.isEmpty());
      assertEquals(1.0, count("failed"));
      assertSame(initial, w.current());
    }
  }

  @Test
  void callbackThatRefusesKeepsThePreviousConfig() throws Exception {
    try (ConfigWatcher w =
        ConfigWatcher.start(
            vertx,
            file,
            initial,
            c -> {
              throw new IllegalArgumentException("no thanks");
            },
            registry,
            NEVER)) {
      Files.writeString(file, ConfigLoader.embeddedYaml().replace("team: risk", "team: fraud"));
      ReloadResult r = await(w.checkNow());
      assertEquals(ReloadResult.Status.REJECTED, r.status());
      assertSame(initial, w.current());
      assertEquals(1.0, count("failed"));
    }
  }

  @Test
  void anAsyncHookCountsWhenItsFutureCompletes() throws Exception {
    io.vertx.core.Promise<Void> first = io.vertx.core.Promise.promise();
    List<io.vertx.core.Promise<Void>> hooks =
        new CopyOnWriteArrayList<>(List.of(first, io.vertx.core.Promise.promise()));
    List<GatewayConfig> handed = new CopyOnWriteArrayList<>();
    CompletableFuture<GatewayConfig> handedOver = new CompletableFuture<>();
    try (ConfigWatcher w =
        ConfigWatcher.startAsync(
            vertx,
            file,
            initial,
            c -> {
              handed.add(c);
              handedOver.complete(c);
              return hooks.get(handed.size() - 1).future();
            },
            registry,
            NEVER)) {
      Files.writeString(file, ConfigLoader.embeddedYaml().replace("team: risk", "team: fraud"));
      Future<ReloadResult> pending = w.checkNow();
      GatewayConfig wanted = handedOver.get(30, TimeUnit.SECONDS);
      assertSame(initial, w.current(), "not current before the hook's future completes");
      assertEquals(0.0, count("ok"));
      first.complete();
      assertEquals(ReloadResult.Status.RELOADED, await(pending).status());
      assertSame(wanted, w.current());
      assertEquals(1.0, count("ok"));

      // A hook whose future fails refuses the reload like one that throws.
      hooks.get(1).fail(new IllegalStateException("the demo model could not start"));
      Files.writeString(file, ConfigLoader.embeddedYaml().replace("team: risk", "team: other"));
      ReloadResult refused = await(w.checkNow());
      assertEquals(ReloadResult.Status.REJECTED, refused.status());
      assertTrue(
          refused.errors().get(0).message().contains("the demo model could not start"),
          refused.errors().toString());
      assertSame(wanted, w.current());
      assertEquals(1.0, count("failed"));
    }
  }

  @Test
  void pollingPicksUpAChange() throws Exception {
    CompletableFuture<GatewayConfig> seen = new CompletableFuture<>();
    try (ConfigWatcher w =
        ConfigWatcher.start(
            vertx, file, initial, seen::complete, registry, Duration.ofMillis(20))) {
      Files.writeString(file, ConfigLoader.embeddedYaml().replace("env: test", "env: staging"));
      GatewayConfig c = seen.get(30, TimeUnit.SECONDS);
      assertEquals("staging", c.endpoints().get(1).tags().get("env"));
    }
  }

  private ConfigWatcher start(Duration interval) {
    return ConfigWatcher.start(vertx, file, initial, reloads::add, registry, interval);
  }

  private double count(String result) {
    return registry.get(ConfigWatcher.RELOADS).tag("result", result).counter().count();
  }

  private static <T> T await(Future<T> f) throws Exception {
    return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
