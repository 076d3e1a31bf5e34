package io.sagegate.cli;

import io.sagegate.config.ConfigLoader;
import io.sagegate.config.EffectiveConfig;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code config --effective [--config FILE]}: prints the configuration the gateway would run with,
 * every default filled in, secrets redacted ({@code aws.externalId}, credentials in URLs). An
 * invalid file is reported as {@code check} reports it, exit code 1.
 */
@Command(
    name = "config",
    mixinStandardHelpOptions = true,
    exitCodeOnInvalidInput = 1,
    description = "Print the effective configuration (defaults filled in, secrets redacted).",
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:printed", "1:the configuration has errors"})
public class ConfigCommand implements Callable<Integer> {

  // picocli injects the spec before call().
  @SuppressWarnings("NullAway.Init")
  @Spec
  CommandSpec spec;

  @Option(
      names = "--effective",
      required = true,
      description = "Print the effective configuration as YAML.")
  boolean effective;

  // picocli sets the mixin before call().
  @SuppressWarnings("NullAway.Init")
  @Mixin
  ConfigFileOption config;

  public ConfigCommand() {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ConfigFileOption.Reading reading = config.read(err);
    ConfigLoader.Loaded loaded = reading.loaded();
    if (loaded == null) {
      err.flush();
      return 1;
    }
    out.print(EffectiveConfig.yaml(loaded.config()));
    out.flush();
    return 0;
  }
}
