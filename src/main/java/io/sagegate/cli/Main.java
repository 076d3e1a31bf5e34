package io.sagegate.cli;

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

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
    if (code != 0 || !isServer(args)) {
      System.exit(code);
    }
  }

  /** Servers keep running after main returns; other commands exit with their code. */
  private static boolean isServer(String[] args) {
    String first = args.length > 0 ? args[0] : "";
    return (first.equals("serve") || first.equals("demo-model"))
        && java.util.Arrays.stream(args).noneMatch(a -> a.equals("-h") || a.equals("--help") || a.equals("-V"));
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
