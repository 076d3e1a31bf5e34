package io.sagegate.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sagegate.config.ConfigException;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.GatewayConfig;
import io.sagegate.provision.AccountCheck;
import io.sagegate.provision.IamDiff;
import io.sagegate.provision.ProvisionSpec;
import io.sagegate.provision.StackDeployer;
import io.sagegate.provision.TemplateBucket;
import io.sagegate.provision.TemplateRenderer;
import io.sagegate.provision.guard.GuardHandler;
import io.sagegate.provision.guard.GuardRunner;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.ProfileCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.awscore.client.builder.AwsSyncClientBuilder;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.cloudformation.CloudFormationClientBuilder;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3ClientBuilder;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.StsClientBuilder;

/**
 * {@code sagegate provision}: one declarative spec to least-privilege SageMaker infrastructure
 * through CloudFormation. {@code render} writes the template, {@code deploy} applies it through a
 * change set, {@code destroy} deletes the stack, {@code diff} compares the gateway's rules with the
 * generated IAM. Exit codes: 0 success (diff: no difference), 1 failure (diff: differences), 2 bad
 * input.
 */
@Command(
    name = "provision",
    mixinStandardHelpOptions = true,
    description =
        "Provision SageMaker endpoints and least-privilege IAM from a spec (CloudFormation).",
    subcommands = {
      ProvisionCommand.Render.class,
      ProvisionCommand.Deploy.class,
      ProvisionCommand.Destroy.class,
      ProvisionCommand.Diff.class,
      ProvisionCommand.GuardTest.class
    })
public class ProvisionCommand implements Callable<Integer> {

  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  /** Deploys send compact JSON: CloudFormation's inline template limit is 51,200 bytes. */
  static final ObjectMapper COMPACT = new ObjectMapper();

  public ProvisionCommand() {}

  @Override
  public Integer call() {
    System.err.println(
        "provision: choose a subcommand: render, deploy, destroy, diff, guard-test (--help)");
    return 2;
  }

  /** Options every subcommand that renders shares. */
  abstract static class SpecCommand implements Callable<Integer> {
    @Option(
        names = "--spec",
        required = true,
        description = "Provisioning spec (YAML), e.g. conf/provision.yaml")
    @SuppressWarnings("NullAway.Init") // required: picocli sets it before call()
    Path spec;

    @SuppressWarnings("NullAway.Init") // picocli injects the spec before call()
    @Spec
    CommandSpec commandSpec;

    // Set by call() before run(), the only reader, starts.
    @SuppressWarnings("NullAway.Init")
    PrintWriter out;

    @SuppressWarnings("NullAway.Init")
    PrintWriter err;

    @Override
    public final Integer call() {
      out = commandSpec.commandLine().getOut();
      err = commandSpec.commandLine().getErr();
      try {
        return run();
      } catch (AccountCheck.WrongAccountException e) {
        err.println("error: " + e.getMessage());
        return 1;
      } catch (IllegalArgumentException | ConfigException e) {
        err.println("error: " + e.getMessage());
        return 2;
      } catch (SdkException e) {
        err.println("error: AWS call failed: " + e.getMessage());
        return 1;
      } catch (IOException e) {
        err.println("error: " + e.getMessage());
        return 2;
      } finally {
        out.flush();
        err.flush();
      }
    }

    abstract int run() throws IOException, ConfigException;

    ProvisionSpec loadSpec() {
      return ProvisionSpec.load(spec);
    }

    TemplateRenderer renderer(ProvisionSpec s, String env) throws ConfigException {
      Path config = s.gatewayConfigFile(env);
      if (!Files.isRegularFile(config)) {
        throw new IllegalArgumentException("gatewayConfig: " + config + ": no such file");
      }
      return new TemplateRenderer(s, env, ConfigLoader.load(config));
    }

    String render(TemplateRenderer r, boolean pretty) throws IOException {
      JsonNode t = r.render();
      r.warnings().forEach(w -> err.println("warning: " + w));
      return pretty ? JSON.writeValueAsString(t) : COMPACT.writeValueAsString(t);
    }
  }

  @Command(
      name = "render",
      mixinStandardHelpOptions = true,
      description = "Write the CloudFormation template (JSON) for one environment.")
  public static class Render extends SpecCommand {
    @Option(
        names = "--env",
        required = true,
        description = "Environment of the spec (dev, staging, prod)")
    @SuppressWarnings("NullAway.Init") // required: picocli sets it before call()
    String env;

    @Option(names = "--out", description = "Write here instead of standard output")
    @Nullable Path outFile;

    @Override
    int run() throws IOException, ConfigException {
      ProvisionSpec s = loadSpec();
      String body = render(renderer(s, env), true);
      if (outFile == null) {
        out.println(body);
      } else {
        Files.writeString(outFile, body + "\n");
        err.printf("wrote %s (stack %s)%n", outFile, TemplateRenderer.stackName(s, env));
      }
      return 0;
    }
  }

  /** Options of the commands that call CloudFormation. */
  abstract static class AwsCommand extends SpecCommand {
    @Option(
        names = "--env",
        required = true,
        description = "Environment of the spec (dev, staging, prod)")
    @SuppressWarnings("NullAway.Init") // required: picocli sets it before call()
    String env;

    @Option(
        names = "--endpoint-url",
        description = "CloudFormation endpoint (VPC endpoint, emulator)")
    @Nullable URI endpointUrl;

    @Option(names = "--region", description = "Region (default: the environment's)")
    @Nullable String region;

    @Option(
        names = "--profile",
        description =
            "AWS profile whose credentials to use (default: the environment's"
                + " profile in the spec, else the SDK's default chain)")
    @Nullable String profile;

    @Option(
        names = "--sts-endpoint-url",
        description =
            "STS endpoint for the account check (default: --endpoint-url"
                + " when given, as with an emulator serving every service, else STS's regional endpoint)")
    @Nullable URI stsEndpointUrl;

    Region region(ProvisionSpec s) {
      return Region.of(region != null ? region : s.environment(env).region());
    }

    AwsCredentialsProvider credentials(ProvisionSpec s) {
      String p = profile != null ? profile : s.environment(env).profile();
      return p == null
          ? DefaultCredentialsProvider.builder().build()
          : ProfileCredentialsProvider.create(p);
    }

    /** {@code builder} with the HTTP client, credentials and region every client here uses. */
    <B extends AwsClientBuilder<B, ?> & AwsSyncClientBuilder<B, ?>> B configured(
        B builder, ProvisionSpec s) {
      return builder
          .httpClientBuilder(UrlConnectionHttpClient.builder())
          .credentialsProvider(credentials(s))
          .region(region(s));
    }

    CloudFormationClient client(ProvisionSpec s) {
      CloudFormationClientBuilder b = configured(CloudFormationClient.builder(), s);
      if (endpointUrl != null) {
        b.endpointOverride(endpointUrl);
      }
      return b.build();
    }

    /**
     * Refuses, before any change, credentials of another account than the environment's; returns
     * the caller's ARN.
     */
    String checkAccount(ProvisionSpec s, String verb) {
      StsClientBuilder b = configured(StsClient.builder(), s);
      URI sts = stsEndpointUrl != null ? stsEndpointUrl : endpointUrl;
      if (sts != null) {
        b.endpointOverride(sts);
      }
      try (StsClient client = b.build()) {
        String who = AccountCheck.require(client, env, s.environment(env).account(), verb);
        err.printf("account %s (%s): the environment's%n", s.environment(env).account(), who);
        return who;
      }
    }
  }

  @Command(
      name = "deploy",
      mixinStandardHelpOptions = true,
      description = "Create or update the environment's stack through a change set, and wait.")
  public static class Deploy extends AwsCommand {
    @Option(
        names = "--s3-bucket",
        description =
            "Upload the template to this bucket (in the stack's account and"
                + " region) and pass CloudFormation its URL; needed for templates over 51,200 bytes, as with"
                + " 'aws cloudformation deploy --s3-bucket'")
    @Nullable String s3Bucket;

    @Option(
        names = "--s3-prefix",
        description = "Key prefix in --s3-bucket (the key is PREFIX/<sha256>.json)")
    @Nullable String s3Prefix;

    @Option(
        names = "--s3-endpoint-url",
        description =
            "S3 endpoint for --s3-bucket (VPC endpoint, emulator;" + " path-style addressing)")
    @Nullable URI s3EndpointUrl;

    @Override
    int run() throws IOException, ConfigException {
      if (s3Bucket == null && (s3Prefix != null || s3EndpointUrl != null)) {
        throw new IllegalArgumentException(
            (s3Prefix != null ? "--s3-prefix" : "--s3-endpoint-url") + ": needs --s3-bucket");
      }
      ProvisionSpec s = loadSpec();
      String body = render(renderer(s, env), false);
      TemplateRenderer renderer = renderer(s, env);
      String who = checkAccount(s, "deploy");
      String role = AccountCheck.roleOf(who);
      if (!renderer.approvedPairs().asMap().containsKey(role.toLowerCase(java.util.Locale.ROOT))) {
        err.printf(
            "warning: %s is not approved by the environment's guard: it will remove the SageMaker endpoints this"
                + " deploy creates; add %s to environments.%s.guard.approvedCallers%n",
            who, role, env);
      }
      try (CloudFormationClient cfn = client(s);
          S3Client s3 = s3Bucket == null ? null : s3Client(s)) {
        TemplateBucket templates =
            s3 == null || s3Bucket == null ? null : new TemplateBucket(s3, s3Bucket, s3Prefix);
        StackDeployer.Result r =
            new StackDeployer(cfn, templates, out, err)
                .deploy(
                    TemplateRenderer.stackName(s, env),
                    body,
                    Map.of("env", env, "managed-by", "sagegate"));
        return r.ok() ? 0 : 1;
      }
    }

    private S3Client s3Client(ProvisionSpec s) {
      S3ClientBuilder b = configured(S3Client.builder(), s);
      if (s3EndpointUrl != null) {
        // Emulators and custom endpoints serve buckets by path, not by virtual host name.
        b.endpointOverride(s3EndpointUrl).forcePathStyle(true);
      }
      return b.build();
    }
  }

  @Command(
      name = "destroy",
      mixinStandardHelpOptions = true,
      description = "Delete the environment's stack, and wait.")
  public static class Destroy extends AwsCommand {
    @Override
    int run() {
      ProvisionSpec s = loadSpec();
      checkAccount(s, "destroy");
      try (CloudFormationClient cfn = client(s)) {
        return new StackDeployer(cfn, out, err).destroy(TemplateRenderer.stackName(s, env)) ? 0 : 1;
      }
    }
  }

  @Command(
      name = "diff",
      mixinStandardHelpOptions = true,
      description =
          "Differences between what the gateway's rules allow and what the generated IAM allows; "
              + "exit 0 when none, 1 when some.")
  public static class Diff extends SpecCommand {
    @Option(names = "--config", required = true, description = "The gateway configuration in force")
    @SuppressWarnings("NullAway.Init") // required: picocli sets it before call()
    Path config;

    @Option(
        names = "--env",
        description =
            "Only this environment (default: every environment whose"
                + " gatewayConfig is the --config file)")
    @Nullable String env;

    @Option(
        names = "--template",
        description =
            "Compare this template (e.g. the deployed one) instead of rendering the spec; needs --env")
    @Nullable Path template;

    @Override
    int run() throws IOException, ConfigException {
      ProvisionSpec s = loadSpec();
      GatewayConfig live = ConfigLoader.load(config);
      if (template != null && env == null) {
        throw new IllegalArgumentException("--template: needs --env");
      }
      // Without --env, the configuration in force is compared with the environments that use it:
      // comparing a dev configuration with prod's roles would report drift that is not there.
      List<String> envs =
          env != null
              ? List.of(env)
              : new ArrayList<>(
                  s.environments().keySet().stream()
                      .filter(e -> sameFile(s.gatewayConfigFile(e), config))
                      .toList());
      if (envs.isEmpty()) {
        throw new IllegalArgumentException(
            "--config: no environment of the spec uses "
                + config
                + " as its gatewayConfig; name one with --env");
      }
      int total = 0;
      for (String e : envs) {
        ProvisionSpec.Environment environment = s.environment(e);
        JsonNode t =
            template != null
                ? JSON.readTree(template.toFile())
                : sameFile(s.gatewayConfigFile(e), config)
                    // Loaded once: loading it again per environment repeated its warnings.
                    ? new TemplateRenderer(s, e, live).render()
                    : renderer(s, e).render();
        List<String> diffs =
            IamDiff.differences(t, live, environment.region(), environment.account());
        for (String d : diffs) {
          out.println(e + ": " + d);
        }
        err.printf("%s: %d difference(s)%n", e, diffs.size());
        total += diffs.size();
      }
      return total == 0 ? 0 : 1;
    }

    private static boolean sameFile(Path a, Path b) {
      try {
        return java.nio.file.Files.isSameFile(a, b);
      } catch (IOException e) {
        return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
      }
    }
  }

  @Command(
      name = "guard-test",
      mixinStandardHelpOptions = true,
      description =
          "Feed a recorded CloudTrail event (as EventBridge delivers it) to the guard's handler, with the"
              + " approved (role, model, image) entries the environment's guard would have, against a SageMaker"
              + " endpoint URL; prints the guard's audit record. The handler really remediates at that endpoint."
              + " Exit 0 approved or ignored, 1 unapproved.")
  public static class GuardTest extends SpecCommand {
    @Option(
        names = "--env",
        required = true,
        description = "Environment of the spec whose guard to run")
    @SuppressWarnings("NullAway.Init") // required: picocli sets it before call()
    String env;

    @Option(
        names = "--event",
        required = true,
        description = "The CloudTrail event (JSON), e.g. from EventBridge or CloudTrail")
    @SuppressWarnings("NullAway.Init") // required: picocli sets it before call()
    Path event;

    @Option(
        names = "--endpoint-url",
        description = "SageMaker endpoint (emulator, sandbox); default: the region's")
    @Nullable URI endpointUrl;

    @Option(names = "--region", description = "Region (default: the environment's)")
    @Nullable String region;

    @Override
    int run() throws IOException, ConfigException {
      ProvisionSpec s = loadSpec();
      if (!Files.isRegularFile(event)) {
        throw new IllegalArgumentException("--event: " + event + ": no such file");
      }
      TemplateRenderer r = renderer(s, env);
      java.io.ByteArrayOutputStream audit = new java.io.ByteArrayOutputStream();
      GuardHandler.Verdict v;
      try (java.io.PrintStream p =
          new java.io.PrintStream(audit, true, java.nio.charset.StandardCharsets.UTF_8)) {
        v =
            GuardRunner.run(
                event,
                r.approvedPairs(),
                endpointUrl,
                region != null ? region : s.environment(env).region(),
                p);
      }
      out.print(audit.toString(java.nio.charset.StandardCharsets.UTF_8));
      err.printf("guard: %s (%s)%n", v.decision(), v.reason());
      return "unapproved".equals(v.decision()) ? 1 : 0;
    }
  }
}
