package io.sagegate.cli;

import io.sagegate.logging.LogSettings;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sagegate} command: one executable jar, with a subcommand per task. */
@Command(
    name = "sagegate",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Authorizing gateway for Amazon SageMaker inference endpoints.",
    subcommands = {
      ServeCommand.class,
      TokenCommand.class,
      CheckCommand.class,
      ExplainCommand.class,
      ConfigCommand.class,
      DemoModelCommand.class,
      ProvisionCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {

  // picocli injects the spec before any option method or run().
  @SuppressWarnings("NullAway.Init")
  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  // Logging options for every subcommand (`sagegate serve --log-format json`); applied as soon as
  // they are parsed, before the command runs. They win over SAGEGATE_LOG_FORMAT /
  // SAGEGATE_LOG_LEVEL.
  @CommandLine.Option(
      names = "--log-format",
      scope = CommandLine.ScopeType.INHERIT,
      paramLabel = "text|json",
      description = "Log lines as plain text (default) or JSON lines (env SAGEGATE_LOG_FORMAT).")
  void logFormat(LogSettings.Format format) {
    LogSettings.apply(format, null);
  }

  @CommandLine.Option(
      names = "--log-level",
      scope = CommandLine.ScopeType.INHERIT,
      paramLabel = "LEVEL",
      description = "trace, debug, info (default), warn or error (env SAGEGATE_LOG_LEVEL).")
  void logLevel(String level) {
    try {
      LogSettings.apply(null, level);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--log-level: " + e.getMessage());
    }
  }

  public static void main(String[] args) {
    int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    if (code != 0 || !isServer(args) || args[0].equals("serve")) {
      System.exit(code);
    }
  }

  /**
   * Servers keep running after main returns; other commands exit with their code. {@code serve}
   * returns only once it has drained and closed after a stop signal, and then exits too.
   */
  private static boolean isServer(String[] args) {
    String first = args.length > 0 ? args[0] : "";
    return (first.equals("serve") || first.equals("demo-model"))
        && java.util.Arrays.stream(args)
            .noneMatch(a -> a.equals("-h") || a.equals("--help") || a.equals("-V"));
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.err);
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = Main.class.getPackage().getImplementationVersion();
      return new String[] {"sagegate " + (v == null ? "dev" : v)};
    }
  }
}
