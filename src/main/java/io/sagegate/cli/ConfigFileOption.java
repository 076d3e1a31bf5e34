package io.sagegate.cli;

import io.sagegate.config.ConfigError;
import io.sagegate.config.ConfigException;
import io.sagegate.config.ConfigLoader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/**
 * The {@code -c/--config FILE} option of the commands that read a configuration without serving it
 * ({@code check}, {@code config}, {@code explain}; a picocli mixin), and the one way they read it:
 * the file, else the embedded default, validated, every error printed one a line.
 */
final class ConfigFileOption {

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      description = "Configuration file (default: the embedded default, conf/local.yaml).")
  @Nullable Path file;

  ConfigFileOption() {}

  /** How messages name the configuration: the file as given, or the embedded default's name. */
  String name() {
    return file == null ? ConfigLoader.EMBEDDED_NAME : file.toString();
  }

  /**
   * Reads and validates the configuration. When it is invalid, prints each error to {@code err},
   * one a line (the caller says what follows), and returns a reading without a configuration.
   */
  Reading read(PrintWriter err) {
    try {
      return new Reading(
          file == null
              ? ConfigLoader.read(ConfigLoader.embeddedYaml(), ConfigLoader.EMBEDDED_NAME)
              : ConfigLoader.read(file),
          List.of());
    } catch (ConfigException e) {
      for (ConfigError error : e.errors()) {
        err.println(error);
      }
      return new Reading(null, e.errors());
    }
  }

  /**
   * The configuration and its warnings ({@code loaded}), or, when it is invalid, null and the
   * errors, which {@link #read} has printed.
   */
  record Reading(ConfigLoader.@Nullable Loaded loaded, List<ConfigError> errors) {}
}
