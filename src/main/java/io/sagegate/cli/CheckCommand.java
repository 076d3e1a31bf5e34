package io.sagegate.cli;

import io.sagegate.config.ConfigError;
import io.sagegate.config.ConfigLoader;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code check [--config FILE]}: validates a configuration and prints every error, one a line, so a
 * file can be checked before it is deployed (or in CI). Exit code 0 when valid, 1 when not. Without
 * {@code --config}, checks the embedded default.
 */
@Command(
    name = "check",
    mixinStandardHelpOptions = true,
    exitCodeOnInvalidInput = 1,
    description = "Validate a configuration file and report every error in it.",
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {"0:the configuration is valid", "1:the configuration has errors"})
public class CheckCommand implements Callable<Integer> {

  // picocli injects the spec before call().
  @SuppressWarnings("NullAway.Init")
  @Spec
  CommandSpec spec;

  // picocli sets the mixin before call().
  @SuppressWarnings("NullAway.Init")
  @Mixin
  ConfigFileOption config;

  public CheckCommand() {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String name = config.name();
    ConfigFileOption.Reading reading = config.read(err);
    ConfigLoader.Loaded loaded = reading.loaded();
    if (loaded == null) {
      int errors = reading.errors().size();
      err.println(name + ": " + errors + (errors == 1 ? " error" : " errors"));
      err.flush();
      return 1;
    }
    for (ConfigError warning : loaded.warnings()) {
      err.println("warning: " + warning);
    }
    err.flush();
    out.println(
        name
            + ": OK ("
            + loaded.config().endpoints().size()
            + " endpoints, "
            + loaded.config().rules().size()
            + " rules)");
    out.flush();
    return 0;
  }
}
