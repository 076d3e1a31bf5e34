package io.sagegate.cli;

import static io.sagegate.cli.CheckCommandTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.cli.CheckCommandTest.Run;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code explain --path}: the OpenAI-compatible route shown as such, the component taken from the
 * path.
 */
class ExplainOpenAiPathTest {

  @TempDir Path dir;

  private Path config() throws Exception {
    Path f = dir.resolve("c.yaml");
    Files.writeString(
        f,
        """
        auth: {devIssuer: true}
        endpoints:
          - name: llm
            backend: {type: demo}
        rules:
          - id: comp-a-only
            effect: allow
            principal: {groups: [a]}
            conditions: {inferenceComponents: [comp-a]}
        """);
    return f;
  }

  @Test
  void theComponentInThePathMeetsTheCondition() throws Exception {
    Run r =
        run(
            new ExplainCommand(),
            "--config",
            config().toString(),
            "--claims",
            "{\"sub\":\"x\",\"groups\":[\"a\"]}",
            "--path",
            "/endpoints/llm/inference-components/comp-a/openai/v1/chat/completions");
    assertEquals(0, r.code(), r.err() + r.out());
    assertTrue(r.out().contains("route       OpenAI-compatible chat/completions"), r.out());
    assertTrue(r.out().contains("inference-component=comp-a"), r.out());
    Run other =
        run(
            new ExplainCommand(),
            "--config",
            config().toString(),
            "--claims",
            "{\"sub\":\"x\",\"groups\":[\"a\"]}",
            "--path",
            "/endpoints/llm/openai/v1/chat/completions");
    assertEquals(2, other.code(), other.out());
  }

  @Test
  void badPathsAreNamed() throws Exception {
    Run r =
        run(
            new ExplainCommand(),
            "--config",
            config().toString(),
            "--claims",
            "{\"sub\":\"x\"}",
            "--path",
            "/endpoints/llm/openai/v1/embeddings");
    assertEquals(1, r.code());
    assertTrue(r.err().contains("--path"), r.err());
    Run header =
        run(
            new ExplainCommand(),
            "--config",
            config().toString(),
            "--claims",
            "{\"sub\":\"x\"}",
            "--path",
            "/endpoints/llm/openai/v1/chat/completions",
            "--inference-component",
            "c");
    assertEquals(1, header.code());
  }
}
