package io.sagegate.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * The README's command table (and, for provision's subcommands, docs/provision.md) shows every
 * option each command's {@code --help} shows, required ones bare and optional ones in brackets, as
 * the help's own synopsis does. An option added to a command without its documentation, or a
 * documented option that no longer exists, fails here.
 */
class CliReferenceTest {

  /**
   * Options every command has: picocli's own, and the logging options inherited from the top
   * command, which the README documents once, in its `... --log-format` row (checked below).
   */
  private static final Set<String> STANDARD =
      Set.of("--help", "--version", "--log-format", "--log-level");

  @Test
  void everyCommandsOptionsMatchItsDocumentation() throws Exception {
    String readme = Files.readString(Path.of("README.md"));
    String provision = Files.readString(Path.of("docs/provision.md"));
    CommandLine main = new CommandLine(new Main());
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, CommandLine> e : main.getSubcommands().entrySet()) {
      String name = e.getKey();
      CommandLine command = e.getValue();
      if (name.equals("help")) {
        continue;
      }
      if (command.getSubcommands().isEmpty()) {
        compare(name, command, readmeRow(readme, name), "README.md's Commands table", problems);
      } else {
        for (Map.Entry<String, CommandLine> sub : command.getSubcommands().entrySet()) {
          if (sub.getKey().equals("help")) {
            continue;
          }
          String full = name + " " + sub.getKey();
          compare(
              full,
              sub.getValue(),
              docLine(provision, "sagegate " + full),
              "docs/provision.md",
              problems);
        }
      }
    }
    if (readme
        .lines()
        .noneMatch(l -> l.startsWith("| `... --log-format") && l.contains("--log-level"))) {
      problems.add(
          "README.md's Commands table has no row for the options of every command (--log-format, --log-level)");
    }
    assertEquals(List.of(), problems);
  }

  private static void compare(
      String name,
      CommandLine command,
      Optional<String> documented,
      String where,
      List<String> problems) {
    if (documented.isEmpty()) {
      problems.add(name + ": not in " + where);
      return;
    }
    Map<String, Boolean> help =
        options(command.getCommandSpec(), command.getHelp().synopsis(0).replace("\r", ""));
    Map<String, Boolean> doc = options(command.getCommandSpec(), documented.get());
    if (!help.equals(doc)) {
      problems.add(
          name + ": --help shows " + describe(help) + " but " + where + " shows " + describe(doc));
    }
  }

  /**
   * Long option name to whether it is required (outside any brackets), as a synopsis shows them.
   */
  static Map<String, Boolean> options(CommandSpec spec, String synopsis) {
    Map<String, Boolean> options = new TreeMap<>();
    int depth = 0;
    int i = 0;
    while (i < synopsis.length()) {
      char c = synopsis.charAt(i);
      if (c == '[') {
        depth++;
        i++;
      } else if (c == ']') {
        depth--;
        i++;
      } else if (c == '-' && (i == 0 || " [|".indexOf(synopsis.charAt(i - 1)) >= 0)) {
        int end = i;
        while (end < synopsis.length() && " =]|[".indexOf(synopsis.charAt(end)) < 0) {
          end++;
        }
        String token = synopsis.substring(i, end);
        OptionSpec option = spec.findOption(token);
        String longName = option != null ? option.longestName() : token;
        if (!STANDARD.contains(longName) && (option != null || token.startsWith("--"))) {
          options.put(longName, depth == 0);
        }
        i = end;
      } else {
        i++;
      }
    }
    return options;
  }

  private static String describe(Map<String, Boolean> options) {
    List<String> parts = new ArrayList<>();
    options.forEach((k, required) -> parts.add(required ? k : "[" + k + "]"));
    return String.join(" ", parts);
  }

  /** The README table row whose first cell starts with the command's name. */
  private static Optional<String> readmeRow(String readme, String name) {
    return readme
        .lines()
        .filter(l -> l.startsWith("| `" + name + " ") || l.startsWith("| `" + name + "`"))
        .map(l -> l.substring(3, l.indexOf('`', 3)))
        .findFirst();
  }

  /**
   * The synopsis line of a subcommand ("sagegate provision render ..."), continuation lines
   * included.
   */
  private static Optional<String> docLine(String doc, String prefix) {
    List<String> lines = doc.lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      if (lines.get(i).startsWith(prefix + " ")) {
        StringBuilder line = new StringBuilder(lines.get(i));
        for (int j = i + 1;
            j < lines.size()
                && lines.get(j).startsWith("    ")
                && !lines.get(j).isBlank()
                && !lines.get(j).trim().startsWith("sagegate");
            j++) {
          line.append(' ').append(lines.get(j).trim());
        }
        return Optional.of(line.toString());
      }
    }
    return Optional.empty();
  }

  @Test
  void theSynopsisReaderSeesBracketsAndShortNames() {
    CommandSpec spec = new CommandLine(new CheckCommand()).getCommandSpec();
    assertEquals(Map.of("--config", false), options(spec, "check [-hV] [-c=FILE]"));
    assertEquals(Map.of("--config", true), options(spec, "check --config FILE"));
  }
}
