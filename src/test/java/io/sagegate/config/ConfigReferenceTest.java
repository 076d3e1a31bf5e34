package io.sagegate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * docs/configuration.md documents every configuration key and no key that does not exist. The keys
 * come from the configuration records themselves ({@link EffectiveConfig#keys()}), so adding a
 * component to a record without a row in the reference fails here.
 */
class ConfigReferenceTest {

  private static final Path REFERENCE = Path.of("docs/configuration.md");

  /** A table row's first cell: | `server.port` | ... */
  private static final Pattern ROW = Pattern.compile("(?m)^\\| `([A-Za-z0-9_.\\[\\]]+)` \\|");

  @Test
  void everyKeyIsDocumentedAndEveryDocumentedKeyExists() throws Exception {
    Set<String> documented = new TreeSet<>();
    Matcher m = ROW.matcher(Files.readString(REFERENCE));
    while (m.find()) {
      documented.add(m.group(1));
    }
    Set<String> keys = EffectiveConfig.keys();
    assertTrue(
        keys.contains("server.eventLoops") && keys.contains("endpoints[].backend.url"),
        keys.toString());

    Set<String> undocumented = new TreeSet<>(keys);
    undocumented.removeAll(documented);
    assertEquals(
        Set.of(),
        undocumented,
        "configuration keys missing from "
            + REFERENCE
            + ": add a table row `| `key` | default | meaning |` for each");
    Set<String> unknown = new TreeSet<>(documented);
    unknown.removeAll(keys);
    assertEquals(Set.of(), unknown, REFERENCE + " documents keys no configuration record has");
  }
}
