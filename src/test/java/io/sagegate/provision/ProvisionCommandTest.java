package io.sagegate.provision;

import static io.sagegate.provision.ProvisionCli.provision;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.cli.ProvisionCommand;
import io.sagegate.provision.ProvisionCli.Run;
import io.sagegate.testsupport.StderrCapture;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code provision diff} finds drift between rules and IAM both ways; bad input gets exit 2 and a
 * named field.
 */
class ProvisionCommandTest {

  static final String SPEC = "conf/provision.yaml";
  static final Path DEV_CONFIG = Path.of("conf/gateway-aws-dev.yaml");

  @TempDir Path tmp;

  /** The dev template as {@code render} writes it, in a file a test may then edit. */
  private Path renderedDevTemplate() {
    Path t = tmp.resolve("t.json");
    StringWriter err = new StringWriter();
    assertEquals(
        0,
        new CommandLine(new ProvisionCommand())
            .setErr(new PrintWriter(err))
            .execute("render", "--spec", SPEC, "--env", "dev", "--out", t.toString()),
        err.toString());
    return t;
  }

  /** {@code diff} of the dev rules against {@code template} instead of the rendered one. */
  private static Run diffDevAgainst(Path template) {
    return provision(
        "diff",
        "--spec",
        SPEC,
        "--config",
        DEV_CONFIG.toString(),
        "--env",
        "dev",
        "--template",
        template.toString());
  }

  private Path drifted(String from, String to) throws Exception {
    String yaml = Files.readString(DEV_CONFIG);
    assertTrue(yaml.contains(from), from);
    Path p = tmp.resolve("drifted.yaml");
    Files.writeString(p, yaml.replace(from, to));
    return p;
  }

  @Test
  void noDifferenceWhenTheSpecDerivesFromTheSameConfig() {
    Run r = provision("diff", "--spec", SPEC, "--config", DEV_CONFIG.toString(), "--env", "dev");
    assertEquals(0, r.code(), r.out() + r.err());
    assertEquals("", r.out());
  }

  @Test
  void withoutEnvEveryEnvironmentOnTheConfigIsComparedAndItsWarningsAreLoggedOnce()
      throws Exception {
    // Staging shares dev's configuration here, and that configuration has a doubtful rule (no
    // principal): the warning is the configuration's, said once, not once per environment.
    for (String f : new String[] {"provision.yaml", "gateway-aws-dev.yaml"}) {
      Files.copy(Path.of("conf", f), tmp.resolve(f));
    }
    Path spec = tmp.resolve("provision.yaml");
    Files.writeString(
        spec, Files.readString(spec).replace("gateway-aws-staging.yaml", "gateway-aws-dev.yaml"));
    Path config = tmp.resolve("gateway-aws-dev.yaml");
    Files.writeString(
        config,
        Files.readString(config)
            .replaceFirst(
                "\nrules:\n",
                "\nrules:\n  - id: everyone-sentiment\n    effect: allow\n"
                    + "    resource: {endpoints: [sentiment]}\n    actions: [invoke]\n\n"));
    Run r;
    String logged;
    try (StderrCapture log = StderrCapture.start()) {
      r = provision("diff", "--spec", spec.toString(), "--config", config.toString());
      logged = log.text() + r.err();
    }
    assertTrue(r.err().contains("dev: ") && r.err().contains("staging: "), r.err());
    assertEquals(
        1,
        logged.split("rules\\[0\\]\\.principal: not set", -1).length - 1,
        "the warning once: " + logged);
  }

  @Test
  void aRuleThatAllowsMoreThanIamIsReported() throws Exception {
    // Risk analysts now get every endpoint, each under its backend's role (the rule names none):
    // sentiment's nlp role already may invoke it, churn-batch's growth role only asynchronously.
    Path config =
        drifted("resource: {endpoints: [fraud-scorer]}", "resource: {endpoints: [\"*\"]}");
    Run r = provision("diff", "--spec", SPEC, "--config", config.toString(), "--env", "dev");
    assertEquals(1, r.code(), r.out() + r.err());
    assertEquals(
        "dev: churn-batch: rules risk-analysts-fraud allow sagemaker:InvokeEndpoint with invoke role "
            + "sagegate-dev-invoke-growth, its IAM policy does not\n",
        r.out().replace("\r", ""));
  }

  @Test
  void iamThatGrantsWhatNoRuleAllowsIsReported() throws Exception {
    // The NLP team's rule is gone: IAM still lets the nlp role call sentiment.
    Path config =
        drifted(
            "    effect: allow\n    description: The NLP team",
            "    effect: deny\n    description: The NLP team");
    Run r = provision("diff", "--spec", SPEC, "--config", config.toString(), "--env", "dev");
    assertEquals(1, r.code(), r.out() + r.err());
    assertTrue(
        r.out()
            .contains(
                "dev: sentiment: IAM lets invoke role sagegate-dev-invoke-nlp call sagemaker:InvokeEndpoint, "
                    + "no allow rule grants it with that role"),
        r.out());
  }

  @Test
  void aRoleTheRulesNameButTheTemplateLacksIsReported() throws Exception {
    Path config = drifted("role/sagegate-dev-invoke-support", "role/sagegate-dev-invoke-helpdesk");
    Run r = provision("diff", "--spec", SPEC, "--config", config.toString(), "--env", "dev");
    assertEquals(1, r.code());
    assertTrue(
        r.out()
            .contains(
                "invoke role sagegate-dev-invoke-helpdesk: named by the gateway rules, not created by the template"),
        r.out());
  }

  @Test
  void aHandEditedTemplateGrantingMoreIsReported() throws Exception {
    Path t = renderedDevTemplate();
    String arn = "arn:aws:sagemaker:eu-west-1:111111111111:endpoint/";
    String json = Files.readString(t);
    assertTrue(json.contains("\"" + arn + "fraud-scorer\""));
    // Someone widened the risk role by hand, and added a forgotten endpoint.
    Files.writeString(
        t,
        json.replace(
            "\"" + arn + "fraud-scorer\"",
            "\"" + arn + "fraud-scorer\", \"" + arn + "fraud-*\", \"" + arn + "legacy-scorer\""));
    Run r = diffDevAgainst(t);
    assertEquals(1, r.code(), r.out() + r.err());
    assertTrue(
        r.out()
            .contains(
                "legacy-scorer: IAM lets invoke role sagegate-dev-invoke-risk call it, "
                    + "the gateway configuration defines no such sagemaker endpoint"),
        r.out());
    assertTrue(
        r.out()
            .contains(
                "invoke role sagegate-dev-invoke-risk: IAM allows [sagemaker:InvokeEndpoint] on "
                    + arn
                    + "fraud-*"),
        r.out());
  }

  @Test
  void badInputNamesWhatIsWrong() throws Exception {
    Run env = provision("render", "--spec", SPEC, "--env", "qa");
    assertEquals(2, env.code());
    assertTrue(env.err().contains("--env: 'qa' is not an environment of the spec"), env.err());

    Path spec = tmp.resolve("bad.yaml");
    Files.writeString(
        spec,
        Files.readString(Path.of(SPEC))
            .replace("kind: ml-engineer ", "kind: ml-engineer\n    colour: blue\n   "));
    Run unknown = provision("render", "--spec", spec.toString(), "--env", "dev");
    assertEquals(2, unknown.code());
    assertTrue(unknown.err().contains("unknown field 'colour'"), unknown.err());

    Files.writeString(
        spec,
        Files.readString(Path.of(SPEC)).replace("model: churn-model,", "model: no-such-model,"));
    Run model = provision("render", "--spec", spec.toString(), "--env", "dev");
    assertEquals(2, model.code());
    assertTrue(
        model
            .err()
            .contains(
                "endpointConfigs[2].variants[0].model 'no-such-model': is not a model of the spec"),
        model.err());

    Files.writeString(
        spec,
        Files.readString(Path.of(SPEC))
            .replace(
                "    volumeKmsKey: arn:aws:kms:eu-central-1:333333333333:key/00003333-b01e-4000-8000-000000000002\n",
                ""));
    Run kms = provision("render", "--spec", spec.toString(), "--env", "dev");
    assertEquals(2, kms.code());
    assertTrue(
        kms.err()
            .contains(
                "environments.prod.volumeKmsKey/dataKmsKey: required: a persona is KMS-constrained"),
        kms.err());

    Files.writeString(
        spec,
        Files.readString(Path.of(SPEC))
            .replace(
                "kind: ml-engineer ",
                "kind: ml-engineer\n    managedPolicies: [\"arn:aws:iam::aws:policy/AmazonSageMakerFullAccess\"]\n   "));
    Run broad = provision("render", "--spec", spec.toString(), "--env", "dev");
    assertEquals(2, broad.code());
    assertTrue(
        broad
            .err()
            .contains(
                "personas[1].managedPolicies 'arn:aws:iam::aws:policy/AmazonSageMakerFullAccess': is far broader"),
        broad.err());

    Run missing =
        provision("render", "--spec", tmp.resolve("nope.yaml").toString(), "--env", "dev");
    assertEquals(2, missing.code());
    assertTrue(missing.err().contains("no such file"), missing.err());
    assertFalse(missing.err().contains("Exception"), "no stack trace for the caller's mistake");
  }

  @Test
  void renderWritesTheTemplateToStandardOutput() {
    Run r = provision("render", "--spec", SPEC, "--env", "prod");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("\"AWS::SageMaker::Endpoint\""));
    assertTrue(
        r.out().contains("arn:aws:sagemaker:eu-central-1:333333333333:endpoint/fraud-scorer"));
  }

  private Path specWith(String from, String to) throws Exception {
    String yaml = Files.readString(Path.of(SPEC));
    assertTrue(yaml.contains(from), from);
    Path dir = Files.createDirectories(tmp.resolve("spec"));
    for (String f :
        new String[] {
          "gateway-aws-dev.yaml", "gateway-aws-staging.yaml", "gateway-aws-prod.yaml"
        }) {
      Files.copy(
          Path.of("conf", f), dir.resolve(f), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    Path p = dir.resolve("provision.yaml");
    Files.writeString(p, yaml.replace(from, to));
    return p;
  }

  /** {@code diff} of a spec from {@link #specWith} against the dev configuration copied with it. */
  private static Run diffDevSpec(Path spec) {
    return provision(
        "diff",
        "--spec",
        spec.toString(),
        "--config",
        spec.getParent().resolve("gateway-aws-dev.yaml").toString(),
        "--env",
        "dev");
  }

  @Test
  void badInputIsNamedInTheSpecsTermsNotJavas() throws Exception {
    Run typo =
        provision(
            "render",
            "--spec",
            specWith("instanceType: ml.m5.xlarge", "instanceTyp: ml.m5.xlarge").toString(),
            "--env",
            "dev");
    assertEquals(2, typo.code());
    assertTrue(
        typo.err()
            .contains(
                "endpointConfigs[0].variants[0].instanceTyp: unknown field 'instanceTyp' (known: "),
        typo.err());
    assertTrue(
        typo.err().contains("instanceCount, instanceType, model, name, serverless, weight)"),
        typo.err());
    Run model =
        provision(
            "render",
            "--spec",
            specWith(
                    "    vpc: true\n    networkIsolation: true",
                    "    vpc: true\n    networkIsolation: true\n    instanceTyp: ml.m5.large")
                .toString(),
            "--env",
            "dev");
    assertTrue(
        model.err().contains("models[0].instanceTyp: unknown field 'instanceTyp' (known: "),
        model.err());
    Run account =
        provision(
            "render",
            "--spec",
            specWith("account: \"222222222222\"", "account: \"2222\"").toString(),
            "--env",
            "dev");
    assertEquals(2, account.code());
    assertTrue(
        account.err().contains("environments.staging.account: expected 12 digits"), account.err());
    Run list =
        provision(
            "render",
            "--spec",
            specWith(
                    "subnets: [subnet-0111a1a1a1a1a1a1a, subnet-0111b2b2b2b2b2b2b]",
                    "subnets: subnet-0111a1a1a1a1a1a1a")
                .toString(),
            "--env",
            "dev");
    assertEquals(2, list.code());
    assertTrue(list.err().contains("environments.dev.subnets: expected a list"), list.err());
    for (Run r : new Run[] {typo, model, account, list}) {
      assertFalse(
          r.err().matches("(?s).*(io\\.sagegate|java\\.util|ProvisionSpec|\\[\"|->).*"),
          "no Java in " + r.err());
    }
  }

  @Test
  void awsIdsAreCheckedForTheirFormat() throws Exception {
    String[][] cases = {
      {
        "subnets: [subnet-0111a1a1a1a1a1a1a,",
        "subnets: [subnet-0111a1,",
        "environments.dev.subnets[0]: expected a subnet id"
      },
      {
        "securityGroups: [sg-0111c3c3c3c3c3c3c]",
        "securityGroups: [sg-0111ml]",
        "environments.dev.securityGroups[0]: expected a security group id"
      },
      {
        "vpcId: vpc-0111d4d4d4d4d4d4d",
        "vpcId: vpc-dev",
        "environments.dev.vpcId: expected a VPC id"
      },
      {
        "key/00001111-da7a-4000-8000-000000000001",
        "key/00001111-data-0000-0000-000000000001",
        "environments.dev.dataKmsKey: expected a KMS key ARN"
      },
      {
        "region: eu-central-1", "region: europe", "environments.prod.region: expected an AWS region"
      },
      {
        "gatewaySecurityGroups: [sg-0111e5e5e5e5e5e5e]",
        "gatewayCidrs: [10.0.0.0/33]",
        "environments.dev.gatewayCidrs[0]: expected an IPv4 CIDR"
      },
    };
    for (String[] c : cases) {
      Run r = provision("render", "--spec", specWith(c[0], c[1]).toString(), "--env", "dev");
      assertEquals(2, r.code(), c[1]);
      assertTrue(r.err().contains(c[2]), c[1] + ": " + r.err());
    }
  }

  @Test
  void diffReportsPersonasThatInvokeDirectly() throws Exception {
    Path spec =
        specWith(
            "kind: data-scientist ",
            "kind: data-scientist\n    activities: [invoke-endpoints, s3-read]\n   ");
    Run r = diffDevSpec(spec);
    assertEquals(1, r.code(), r.out() + r.err());
    assertTrue(
        r.out()
            .contains(
                "dev: fraud-scorer: persona role sagegate-dev-data-scientist can call sagemaker:InvokeEndpoint"
                    + " directly, outside the gateway's rules and audit"),
        r.out());
    Path app =
        specWith(
            "  - name: model-runtime",
            "  - name: support-app\n    kind: app-consumer\n  - name: model-runtime");
    Run a = diffDevSpec(app);
    assertEquals(1, a.code(), a.out() + a.err());
    assertTrue(
        a.out()
            .contains(
                "persona role sagegate-dev-support-app can call sagemaker:InvokeEndpoint directly"),
        a.out());
  }

  @Test
  void diffTreatsAMissingSourceVpceAsDrift() throws Exception {
    Path t = renderedDevTemplate();
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.JsonNode template = json.readTree(t.toFile());
    com.fasterxml.jackson.databind.JsonNode st =
        template
            .path("Resources")
            .path("InvokeRoleSagegateDevInvokeRisk")
            .path("Properties")
            .path("Policies")
            .path(0)
            .path("PolicyDocument")
            .path("Statement")
            .path(0);
    assertTrue(st.path("Condition").path("StringEquals").has("aws:SourceVpce"), st.toString());
    ((com.fasterxml.jackson.databind.node.ObjectNode) st).remove("Condition");
    json.writeValue(t.toFile(), template);
    Run r = diffDevAgainst(t);
    assertEquals(1, r.code(), r.out() + r.err());
    assertTrue(
        r.out()
            .contains(
                "invoke role sagegate-dev-invoke-risk: statement InvokeAllowedEndpoints grants [sagemaker:InvokeEndpoint]"
                    + " without an aws:SourceVpce condition"),
        r.out());
  }
}
