package io.sagegate.provision;

import io.sagegate.cli.ProvisionCommand;
import io.sagegate.testsupport.aws.ProvisionMoto;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;

/**
 * {@code sagegate provision} as the provisioning tests run it: in-process, keeping what it wrote;
 * and what its deploys against moto_server need. One place, so that every test runs the command the
 * same way.
 */
final class ProvisionCli {

  /** The moto spec's guard Lambda code: moto creates the function only if the object exists. */
  static final String CODE_BUCKET = "sagegate-test-code";

  private ProvisionCli() {}

  /** How the command ended and what it wrote to standard output and standard error. */
  record Run(int code, String out, String err) {}

  static Run provision(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        new CommandLine(new ProvisionCommand())
            .setOut(new PrintWriter(out))
            .setErr(new PrintWriter(err))
            .execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  /**
   * {@code provision VERB --spec SPEC --env ENV} against moto (its endpoint and region), followed
   * by {@code more} options.
   */
  static Run provisionOnMoto(
      ProvisionMoto moto, String verb, String spec, String env, String... more) {
    List<String> args =
        new ArrayList<>(
            List.of(
                verb,
                "--spec",
                spec,
                "--env",
                env,
                "--endpoint-url",
                moto.endpoint().toString(),
                "--region",
                ProvisionMoto.REGION));
    args.addAll(List.of(more));
    return provision(args.toArray(String[]::new));
  }

  /**
   * What a deploy through moto needs before it runs: the guard Lambda's code in S3, and credentials
   * for the SDK's default chain, which the deploy command uses. Undone by {@link
   * #forgetDeployCredentials()}.
   */
  static void prepareDeploys(ProvisionMoto moto) throws Exception {
    moto.s3Put(CODE_BUCKET, null, null);
    moto.s3Put(CODE_BUCKET, "sagegate.jar", "PK");
    System.setProperty("aws.accessKeyId", "testing");
    System.setProperty("aws.secretAccessKey", "testing");
  }

  static void forgetDeployCredentials() {
    System.clearProperty("aws.accessKeyId");
    System.clearProperty("aws.secretAccessKey");
  }

  /** The status CloudFormation reports for the stack, e.g. {@code CREATE_COMPLETE}. */
  static String stackStatus(CloudFormationClient cfn, String stackName) {
    return cfn.describeStacks(b -> b.stackName(stackName)).stacks().get(0).stackStatusAsString();
  }
}
