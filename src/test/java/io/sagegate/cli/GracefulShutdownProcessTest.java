package io.sagegate.cli;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.auth.DevIssuer;
import io.sagegate.testsupport.GatedStreamBackend;
import io.vertx.core.Vertx;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real gateway process ({@code sagegate serve}, a child JVM on the test classpath) is sent
 * SIGTERM with four response streams in flight: {@code /readyz} turns 503 first, while the streams
 * are still open; the streams then finish with their final event; each has exactly one audit
 * record, none saying {@code caller:gone}; and the process exits with status 0.
 */
class GracefulShutdownProcessTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern BANNER =
      Pattern.compile(
          "serving on http://localhost:(\\d+)\\s+\\(management: http://localhost:(\\d+)");

  @TempDir Path dir;
  private Vertx vertx;
  private Process gateway;
  private final List<String> stdout = new CopyOnWriteArrayList<>();
  private final List<String> stderr = new CopyOnWriteArrayList<>();

  @AfterEach
  void stop() throws Exception {
    if (gateway != null && gateway.isAlive()) {
      gateway.destroyForcibly();
    }
    if (vertx != null) {
      vertx.close().await(AWAIT_SECONDS, SECONDS);
    }
  }

  @Test
  void sigtermDrainsFourStreamsAndExitsZero() throws Exception {
    vertx = Vertx.vertx();
    GatedStreamBackend model = GatedStreamBackend.start(vertx).await(AWAIT_SECONDS, SECONDS);
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(
        config,
        """
        server: {port: 0, managementPort: 0, drainDelay: 1s, drainTimeout: 30s}
        auth: {devIssuer: true}
        endpoints:
          - name: long-stream
            tags: {env: test}
            backend: {type: container, url: %s, timeout: 60s}
        rules:
          - id: streamers
            effect: allow
            principal: {groups: [streamers]}
        """
            .formatted(model.url()));
    Path home = dir.resolve("home");
    DevIssuer issuer = DevIssuer.loadOrCreate(home.resolve("dev-issuer"));
    String token =
        issuer.mint("sam", List.of("streamers"), List.of(), null, Duration.ofMinutes(5), Map.of());

    ProcessBuilder pb =
        new ProcessBuilder(
            javaBinary(),
            "-cp",
            classPath(),
            "io.sagegate.cli.Main",
            "serve",
            "--config",
            config.toString());
    pb.environment().put("SAGEGATE_HOME", home.toString());
    gateway = pb.start();
    Thread out = pump(gateway.getInputStream(), stdout);
    Thread err = pump(gateway.getErrorStream(), stderr);
    int[] ports = awaitPorts(Duration.ofSeconds(60));
    int port = ports[0];
    int management = ports[1];
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    assertEquals(200, readyz(client, management), "ready before the signal");

    List<CompletableFuture<HttpResponse<byte[]>>> streams = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      // A connection each: four streams at once, as four callers would hold them.
      // HTTP/1.1, as SageMaker Runtime and its SDK clients speak it.
      HttpClient own =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(5))
              .build();
      streams.add(
          own.sendAsync(
              HttpRequest.newBuilder(
                      URI.create(
                          "http://127.0.0.1:"
                              + port
                              + "/endpoints/long-stream/invocations-response-stream"))
                  .header("Authorization", "Bearer " + token)
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString("{\"n\":" + i + "}"))
                  .build(),
              HttpResponse.BodyHandlers.ofByteArray()));
    }
    model.awaitStarted(4, Duration.ofSeconds(30));

    // SIGTERM, through the process handle: Process.destroy() would also close our ends of the
    // child's output pipes, and its drain log and audit records would be lost to the test.
    assertTrue(gateway.toHandle().destroy(), "SIGTERM sent");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    int status = readyz(client, management);
    while (status != 503 && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(20);
      status = readyz(client, management);
    }
    assertEquals(503, status, "/readyz turns 503 once the gateway drains");
    assertTrue(
        streams.stream().noneMatch(CompletableFuture::isDone),
        "the streams are still open when /readyz turns 503");
    assertTrue(gateway.isAlive(), "the gateway waits for its calls");

    model.release();
    for (CompletableFuture<HttpResponse<byte[]>> f : streams) {
      HttpResponse<byte[]> r = f.get(30, TimeUnit.SECONDS);
      assertEquals(200, r.statusCode());
      String body = new String(r.body(), StandardCharsets.ISO_8859_1);
      assertTrue(
          body.contains(GatedStreamBackend.FIRST.trim())
              && body.contains(GatedStreamBackend.FINAL.trim()),
          "every stream ends with its final event: " + body);
    }
    assertTrue(gateway.waitFor(60, TimeUnit.SECONDS), "the gateway exits after draining");
    out.join(10_000); // the rest of its output, up to the end of the stream
    err.join(10_000);
    assertEquals(
        0, gateway.exitValue(), "exit status after a drain; stderr:\n" + String.join("\n", stderr));

    List<JsonNode> records = new ArrayList<>();
    for (String line : stdout) {
      if (line.startsWith("{")) {
        records.add(JSON.readTree(line));
      }
    }
    List<JsonNode> streamRecords =
        records.stream().filter(r -> "long-stream".equals(r.path("endpoint").asText())).toList();
    assertEquals(
        4,
        streamRecords.size(),
        "one audit record per stream: "
            + records
            + "\nstdout:\n"
            + String.join("\n", stdout)
            + "\nstderr:\n"
            + String.join("\n", stderr));
    assertEquals(
        4, streamRecords.stream().map(r -> r.get("requestId").asText()).distinct().count());
    for (JsonNode r : streamRecords) {
      assertEquals(200, r.get("status").asInt(), r.toString());
      assertFalse(r.has("errorReason"), "no caller:gone, no error: " + r);
    }
    String log = String.join("\n", stderr);
    assertTrue(log.contains("Draining:"), log);
    assertTrue(log.contains("4 calls completed, 0 ended at the deadline"), log);
  }

  @Test
  void sigintDrainsLikeSigtermAndExitsZero() throws Exception {
    // A process started with SIGINT ignored (a background job of a non-interactive shell) keeps
    // it ignored, as the JVM and shells do; our child would inherit that from this JVM.
    String ignored =
        Files.readAllLines(Path.of("/proc/self/status")).stream()
            .filter(l -> l.startsWith("SigIgn:"))
            .findFirst()
            .map(l -> l.substring(7).trim())
            .orElse("0");
    org.junit.jupiter.api.Assumptions.assumeTrue(
        (Long.parseLong(ignored, 16) & 0x2) == 0,
        "this JVM was started with SIGINT ignored; its children cannot take it");
    vertx = Vertx.vertx();
    GatedStreamBackend model = GatedStreamBackend.start(vertx).await(AWAIT_SECONDS, SECONDS);
    Path config = dir.resolve("gateway.yaml");
    Files.writeString(
        config,
        """
        server: {port: 0, managementPort: 0, drainDelay: 1s, drainTimeout: 30s}
        auth: {devIssuer: true}
        endpoints:
          - {name: long-stream, backend: {type: container, url: %s, timeout: 60s}}
        rules:
          - {id: streamers, effect: allow, principal: {groups: [streamers]}}
        """
            .formatted(model.url()));
    Path home = dir.resolve("home");
    String token =
        DevIssuer.loadOrCreate(home.resolve("dev-issuer"))
            .mint("sam", List.of("streamers"), List.of(), null, Duration.ofMinutes(5), Map.of());
    ProcessBuilder pb =
        new ProcessBuilder(
            javaBinary(),
            "-cp",
            classPath(),
            "io.sagegate.cli.Main",
            "serve",
            "--config",
            config.toString());
    pb.environment().put("SAGEGATE_HOME", home.toString());
    gateway = pb.start();
    Thread out = pump(gateway.getInputStream(), stdout);
    Thread err = pump(gateway.getErrorStream(), stderr);
    int[] ports = awaitPorts(Duration.ofSeconds(60));
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    CompletableFuture<HttpResponse<String>> stream =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .build()
            .sendAsync(
                HttpRequest.newBuilder(
                        URI.create(
                            "http://127.0.0.1:"
                                + ports[0]
                                + "/endpoints/long-stream/invocations-response-stream"))
                    .header("Authorization", "Bearer " + token)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
    model.awaitStarted(1, Duration.ofSeconds(30));

    Process kill =
        new ProcessBuilder("kill", "-INT", Long.toString(gateway.pid())).inheritIO().start();
    assertEquals(0, kill.waitFor(), "SIGINT sent");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    int status = readyz(client, ports[1]);
    while (status != 503 && System.nanoTime() < deadline) {
      TimeUnit.MILLISECONDS.sleep(20);
      status = readyz(client, ports[1]);
    }
    assertEquals(503, status, "/readyz turns 503 on SIGINT");
    assertTrue(gateway.isAlive(), "the gateway waits for its call");
    model.release();
    HttpResponse<String> r = stream.get(30, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode());
    assertTrue(r.body().contains(GatedStreamBackend.FINAL.trim()), r.body());
    assertTrue(gateway.waitFor(60, TimeUnit.SECONDS), "the gateway exits after draining");
    out.join(10_000);
    err.join(10_000);
    String log = String.join("\n", stderr);
    assertEquals(0, gateway.exitValue(), "exit status after SIGINT; stderr:\n" + log);
    assertTrue(log.contains("Draining:"), log);
    assertTrue(log.contains("1 calls completed, 0 ended at the deadline"), log);
    List<JsonNode> records = new ArrayList<>();
    for (String line : stdout) {
      if (line.startsWith("{")) {
        JsonNode n = JSON.readTree(line);
        if ("long-stream".equals(n.path("endpoint").asText())) {
          records.add(n);
        }
      }
    }
    assertEquals(1, records.size(), records.toString());
    assertEquals(200, records.get(0).get("status").asInt(), records.toString());
    assertFalse(records.get(0).has("errorReason"), records.toString());
  }

  private static int readyz(HttpClient client, int port) throws Exception {
    return client
        .send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/readyz"))
                .timeout(Duration.ofSeconds(5))
                .build(),
            HttpResponse.BodyHandlers.discarding())
        .statusCode();
  }

  private int[] awaitPorts(Duration timeout) throws InterruptedException {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      for (String line : stderr) {
        Matcher m = BANNER.matcher(line);
        if (m.find()) {
          return new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))};
        }
      }
      if (!gateway.isAlive()) {
        throw new AssertionError("the gateway exited: " + String.join("\n", stderr));
      }
      TimeUnit.MILLISECONDS.sleep(50);
    }
    throw new AssertionError(
        "no start banner within " + timeout + ": " + String.join("\n", stderr));
  }

  private static Thread pump(InputStream in, List<String> lines) {
    Thread t =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  lines.add(line);
                }
              } catch (Exception ignored) {
                // the process ended
              }
            },
            "child-output");
    t.setDaemon(true);
    t.start();
    return t;
  }

  static String javaBinary() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  /** The test's own classpath (Surefire's, when the JVM's is its manifest-only booter jar). */
  static String classPath() {
    String surefire = System.getProperty("surefire.test.class.path");
    return surefire != null && !surefire.isBlank()
        ? surefire
        : System.getProperty("java.class.path");
  }
}
