package io.sagegate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * serve's own options are checked before anything starts: a bad one is a usage error (exit 2)
 * naming the option, not a stack trace.
 */
class ServeOptionsTest {

  private static String[] run(String... args) {
    StringWriter err = new StringWriter();
    int code = new CommandLine(new ServeCommand()).setErr(new PrintWriter(err, true)).execute(args);
    return new String[] {Integer.toString(code), err.toString()};
  }

  @Test
  void aPortOutOfRangeIsAUsageErrorNamingTheOption() {
    String[] r = run("--port", "70000");
    assertEquals("2", r[0], r[1]);
    assertTrue(r[1].contains("--port: 70000 is not a port (0 to 65535)"), r[1]);
    assertFalse(r[1].contains("\tat "), "no stack trace: " + r[1]);
  }

  @Test
  void aManagementPortOutOfRangeIsAUsageErrorNamingTheOption() {
    String[] r = run("--management-port", "-1");
    assertEquals("2", r[0], r[1]);
    assertTrue(r[1].contains("--management-port: -1 is not a port (0 to 65535)"), r[1]);
  }

  @Test
  void aReloadIntervalUnderOneMillisecondIsAUsageError() {
    String[] r = run("--reload-interval", "PT0S");
    assertEquals("2", r[0], r[1]);
    assertTrue(r[1].contains("--reload-interval: must be at least 1 ms, was PT0S"), r[1]);
  }
}
