package io.sagegate.architecture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Provisioning stays apart from the request path: no class outside {@code io.sagegate.provision}
 * (and the command line that exposes it) may refer to it.
 */
class LayeringTest {

  private static final Path ROOT = Path.of("src/main/java/io/sagegate");

  @Test
  void requestPathNeverImportsProvisioning() throws IOException {
    List<String> offenders;
    try (Stream<Path> files = Files.walk(ROOT)) {
      offenders = files
          .filter(p -> p.toString().endsWith(".java"))
          .filter(p -> !p.startsWith(ROOT.resolve("provision")))
          .filter(p -> !p.equals(ROOT.resolve("cli/ProvisionCommand.java")))
          .filter(p -> !p.equals(ROOT.resolve("cli/Main.java")))
          .filter(p -> read(p).contains("io.sagegate.provision"))
          .map(Path::toString)
          .toList();
    }
    assertTrue(Files.isDirectory(ROOT.resolve("provision")), "the check looks where the code is");
    assertEquals(List.of(), offenders);
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
