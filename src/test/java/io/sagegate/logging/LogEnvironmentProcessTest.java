package io.sagegate.logging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * SAGEGATE_LOG_LEVEL and SAGEGATE_LOG_FORMAT as a container sets them, in a JVM of their own (the
 * environment is read when logging starts): a good value applies; a bad one falls back to INFO /
 * text with a warning on stderr that names it, never to DEBUG or to no logs at all; stdout (audit
 * records, command output) stays clean.
 */
class LogEnvironmentProcessTest {

  /** Run in the child JVM: one line at each level. */
  public static final class Probe {
    public static void main(String[] args) {
      var log = LoggerFactory.getLogger("io.sagegate.probe");
      log.debug("probe-debug");
      log.info("probe-info");
      log.warn("probe-warn");
    }
  }

  private record Run(int code, String stdout, String stderr) {}

  private static Run run(Map<String, String> env) throws Exception {
    String cp = System.getProperty("surefire.test.class.path");
    if (cp == null || cp.isBlank()) {
      cp = System.getProperty("java.class.path");
    }
    ProcessBuilder pb =
        new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-XX:TieredStopAtLevel=1",
            "-cp",
            cp,
            Probe.class.getName());
    pb.environment().remove("SAGEGATE_LOG_LEVEL");
    pb.environment().remove("SAGEGATE_LOG_FORMAT");
    pb.environment().putAll(env);
    Process p = pb.start();
    CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()));
    CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("the probe did not end within 60 s");
    }
    return new Run(p.exitValue(), out.get(10, TimeUnit.SECONDS), err.get(10, TimeUnit.SECONDS));
  }

  private static String drain(InputStream in) {
    try (in) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      in.transferTo(b);
      return b.toString(StandardCharsets.UTF_8);
    } catch (Exception e) {
      return "";
    }
  }

  @Test
  void aBadLevelInTheEnvironmentFallsBackToInfoAndSaysSo() throws Exception {
    Run r = run(Map.of("SAGEGATE_LOG_LEVEL", "verbose"));
    assertEquals(0, r.code(), r.stderr());
    assertFalse(r.stderr().contains("probe-debug"), "fell back to DEBUG:\n" + r.stderr());
    assertTrue(r.stderr().contains("probe-info"), r.stderr());
    assertTrue(
        r.stderr()
            .lines()
            .anyMatch(
                l ->
                    l.contains("SAGEGATE_LOG_LEVEL")
                        && l.contains("'verbose'")
                        && l.contains("INFO")),
        "no warning naming the bad value:\n" + r.stderr());
    assertEquals("", r.stdout());
  }

  @Test
  void aGoodLevelInTheEnvironmentApplies() throws Exception {
    Run warn = run(Map.of("SAGEGATE_LOG_LEVEL", "warn"));
    assertFalse(warn.stderr().contains("probe-info"), warn.stderr());
    assertTrue(warn.stderr().contains("probe-warn"), warn.stderr());
    assertFalse(warn.stderr().contains("logging:"), warn.stderr());
    Run debug = run(Map.of("SAGEGATE_LOG_LEVEL", "DEBUG"));
    assertTrue(debug.stderr().contains("probe-debug"), debug.stderr());
    Run unset = run(Map.of());
    assertFalse(unset.stderr().contains("probe-debug"), unset.stderr());
    assertTrue(unset.stderr().contains("probe-info"), unset.stderr());
  }

  @Test
  void aBadFormatInTheEnvironmentFallsBackToTextAndSaysSo() throws Exception {
    Run r = run(Map.of("SAGEGATE_LOG_FORMAT", "yaml"));
    assertTrue(
        r.stderr().lines().anyMatch(l -> l.contains("probe-info") && !l.startsWith("{")),
        r.stderr());
    assertTrue(
        r.stderr().lines().anyMatch(l -> l.contains("SAGEGATE_LOG_FORMAT") && l.contains("'yaml'")),
        "no warning naming the bad value:\n" + r.stderr());
    assertEquals("", r.stdout());
    Run json = run(Map.of("SAGEGATE_LOG_FORMAT", "json"));
    String line =
        json.stderr().lines().filter(l -> l.contains("probe-info")).findFirst().orElseThrow();
    assertEquals("INFO", new ObjectMapper().readTree(line).path("level").asText(), line);
  }
}
