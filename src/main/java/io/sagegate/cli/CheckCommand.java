package io.sagegate.cli;

import io.sagegate.config.ConfigError;
import io.sagegate.config.ConfigException;
import io.sagegate.config.ConfigLoader;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
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

  @Spec CommandSpec spec;

  @Option(
      names = {"-c", "--config"},
      paramLabel = "FILE",
      description = "Configuration file (default: the embedded default, conf/local.yaml).")
  Path config;

  public CheckCommand() {}

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    String name = config == null ? ConfigLoader.EMBEDDED_NAME : config.toString();
    ConfigLoader.Loaded loaded;
    try {
      loaded =
          config == null
              ? ConfigLoader.read(ConfigLoader.embeddedYaml(), ConfigLoader.EMBEDDED_NAME)
              : ConfigLoader.read(config);
    } catch (ConfigException e) {
      for (ConfigError error : e.errors()) {
        err.println(error);
      }
      err.println(
          name + ": " + e.errors().size() + (e.errors().size() == 1 ? " error" : " errors"));
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
