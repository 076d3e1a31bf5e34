package io.sagegate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CheckCommandTest {

  @TempDir Path dir;

  record Run(int code, String out, String err) {}

  static Run run(Object command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(command);
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  @Test
  void localYamlIsOk() {
    Run r = run(new CheckCommand(), "--config", "conf/local.yaml");
    assertEquals(0, r.code(), r.err());
    assertEquals("conf/local.yaml: OK (2 endpoints, 4 rules)", r.out().strip());
  }

  @Test
  void withoutConfigChecksTheEmbeddedDefault() {
    Run r = run(new CheckCommand());
    assertEquals(0, r.code(), r.err());
    assertTrue(
        r.out().startsWith("embedded default (conf/local.yaml): OK (2 endpoints, 4 rules)"),
        r.out());
  }

  @Test
  void everyErrorIsPrintedOnStderrOneALine() throws Exception {
    Path bad = dir.resolve("bad.yaml");
    Files.writeString(
        bad,
        """
        server: {port: 99999}
        endpoints:
          - name: "no spaces allowed"
            backend: {type: demo}
        rules:
          - id: r
            effect: alow
            actions: [invok]
        """);
    Run r = run(new CheckCommand(), "--config", bad.toString());
    assertEquals(1, r.code());
    assertEquals("", r.out());
    String[] lines = r.err().strip().split("\\R");
    assertEquals(bad + ": server.port: 99999 is not a port (0 to 65535)", lines[0]);
    assertTrue(
        r.err()
            .contains(
                bad
                    + ": endpoints[0].name: 'no spaces allowed' is not a SageMaker"
                    + " endpoint name"),
        r.err());
    assertTrue(
        r.err().contains(bad + ": rules[0].effect: 'alow' is not one of allow, deny"), r.err());
    assertTrue(
        r.err()
            .contains(
                bad
                    + ": rules[0].actions[0]: 'invok' is not one of invoke,"
                    + " invoke-stream, invoke-async, *"),
        r.err());
    assertEquals(bad + ": 4 errors", lines[lines.length - 1]);
    assertEquals(5, lines.length, r.err());
  }

  @Test
  void missingFileIsAnError() {
    Run r = run(new CheckCommand(), "--config", dir.resolve("nope.yaml").toString());
    assertEquals(1, r.code());
    assertTrue(r.err().contains("nope.yaml: cannot read the file"), r.err());
  }

  @Test
  void warningsDoNotFailTheCheck() throws Exception {
    Path f = dir.resolve("deny-only.yaml");
    Files.writeString(
        f, "endpoints: [{name: a, backend: {type: demo}}]\n" + "rules: [{id: d, effect: deny}]\n");
    Run r = run(new CheckCommand(), "--config", f.toString());
    assertEquals(0, r.code());
    assertTrue(r.err().contains("warning: " + f + ": rules: no allow rule"), r.err());
    assertEquals(f + ": OK (1 endpoints, 1 rules)", r.out().strip());
  }
}
