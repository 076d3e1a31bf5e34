package io.sagegate.provision;

import static io.sagegate.provision.ProvisionCli.provision;
import static io.sagegate.provision.ProvisionCli.provisionOnMoto;
import static io.sagegate.provision.ProvisionCli.stackStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.provision.ProvisionCli.Run;
import io.sagegate.testsupport.aws.ProvisionMoto;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.cloudformation.model.StackResource;
import software.amazon.awssdk.services.sagemaker.SageMakerClient;
import software.amazon.awssdk.services.sagemaker.model.EndpointStatus;
import software.amazon.awssdk.services.sagemaker.model.SageMakerException;
import software.amazon.awssdk.services.sagemakerruntime.SageMakerRuntimeClient;
import software.amazon.awssdk.services.sagemakerruntime.model.SageMakerRuntimeException;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.Credentials;
import software.amazon.awssdk.services.sts.model.StsException;

/**
 * {@code provision deploy} and {@code destroy} against a real moto_server: the rendered template
 * goes through a CloudFormation change set, the stack completes, the roles and endpoints exist, and
 * with moto's IAM enforcement on the derived policies are exercised.
 *
 * <p>What moto 5.2.1 does and does not check, and so what this test can show: it authorizes {@code
 * sts:AssumeRole} against the caller's identity policy with the role ARN as resource (so the
 * gateway role's scoping is enforced), but compares a trust policy's principal literally with the
 * caller's ARN (an assumed-role session ARN never equals the role ARN, so the gateway session
 * cannot pass the invoke role's trust policy in moto — that path is asserted statically), and it
 * authorizes SageMaker and SageMaker Runtime calls against resource {@code *} (so a policy that
 * names endpoint ARNs is denied everything there: an endpoint outside the rules is denied, and an
 * over-broad {@code Resource: *} would be caught, but per-ARN allow is evaluated statically with
 * {@link PolicyEvaluator}). moto also ignores the names given to SageMaker resources in
 * CloudFormation (it generates them) and computes no Outputs on change-set execution, so actual
 * names come from the stack's resources.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProvisionMotoDeployTest {

  static final String SPEC = "src/test/resources/provision/moto-spec.yaml";
  static final String ACCOUNT = ProvisionMoto.ACCOUNT;
  static final String GATEWAY_ROLE = "arn:aws:iam::" + ACCOUNT + ":role/sagegate-gateway-test";
  static final String INVOKE_A = "arn:aws:iam::" + ACCOUNT + ":role/sagegate-test-invoke-a";
  static final ObjectMapper JSON = new ObjectMapper();

  static ProvisionMoto moto;
  static CloudFormationClient cfn;
  static SageMakerClient sm;
  static StsClient sts;

  @BeforeAll
  static void start() throws Exception {
    moto = ProvisionMoto.start();
    cfn = moto.client(CloudFormationClient.builder());
    sm = moto.client(SageMakerClient.builder());
    sts = moto.client(StsClient.builder());
    ProvisionCli.prepareDeploys(moto);
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {cfn, sm, sts}) {
      if (c != null) {
        c.close();
      }
    }
    if (moto != null) {
      moto.close();
    }
    ProvisionCli.forgetDeployCredentials();
  }

  static Map<String, StackResource> resources() {
    Map<String, StackResource> m = new TreeMap<>();
    cfn.describeStackResources(b -> b.stackName("sagegate-test"))
        .stackResources()
        .forEach(r -> m.put(r.logicalResourceId(), r));
    return m;
  }

  /** moto names SageMaker resources itself; the physical id is the ARN. */
  static String endpointName(String logicalId) {
    String arn = resources().get(logicalId).physicalResourceId();
    return arn.substring(arn.lastIndexOf('/') + 1);
  }

  static String tag(String xml, String name) {
    Matcher m = Pattern.compile("<" + name + ">(.*?)</" + name + ">", Pattern.DOTALL).matcher(xml);
    assertTrue(m.find(), name + " in " + xml);
    return m.group(1);
  }

  @Test
  @Order(1)
  void deployCreatesTheStackThroughAChangeSet() throws Exception {
    Run r = provisionOnMoto(moto, "deploy", SPEC, "test");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("creating change set"), r.err());
    assertTrue(r.err().contains("account 123456789012 ("), "the account was checked: " + r.err());
    assertTrue(
        r.err()
            .contains(
                "is not approved by the environment's guard: it will remove the SageMaker endpoints this deploy creates"),
        "moto's caller is in no approvedCallers: " + r.err());
    assertTrue(
        r.err().matches("(?s).*Add\\s+EndpointEpAllowed\\s+AWS::SageMaker::Endpoint.*"),
        "the change set is shown: " + r.err());
    assertTrue(r.err().contains("stack sagegate-test: CREATE_COMPLETE"), r.err());
    assertEquals("CREATE_COMPLETE", stackStatus(cfn, "sagegate-test"));

    Map<String, StackResource> res = resources();
    for (String id :
        List.of(
            "RoleGateway",
            "InvokeRoleSagegateTestInvokeA",
            "InvokeRoleSagegateTestInvokeB",
            "RoleMlEngineer",
            "ExecRoleModelA",
            "ModelModelA",
            "EndpointConfigConfigA",
            "EndpointEpAllowed",
            "EndpointEpOther",
            "GuardRole",
            "GuardFunction",
            "GuardRule",
            "GuardPermission")) {
      assertEquals("CREATE_COMPLETE", res.get(id).resourceStatusAsString(), id);
    }
    // The endpoints exist in SageMaker, tagged with the environment.
    var ep = sm.describeEndpoint(b -> b.endpointName(endpointName("EndpointEpAllowed")));
    assertEquals(EndpointStatus.IN_SERVICE, ep.endpointStatus());
    assertTrue(
        sm.listTags(b -> b.resourceArn(ep.endpointArn())).tags().stream()
            .anyMatch(t -> t.key().equals("env") && t.value().equals("test")));
    // The roles exist in IAM, with the rendered trust and policy.
    String role = moto.iam("Action=GetRole&RoleName=sagegate-test-invoke-a");
    JsonNode trust =
        JSON.readTree(
            URLDecoder.decode(tag(role, "AssumeRolePolicyDocument"), StandardCharsets.UTF_8));
    assertEquals(
        GATEWAY_ROLE, trust.path("Statement").path(0).path("Principal").path("AWS").asText());
    assertEquals(
        "sagegate-test-external",
        trust
            .path("Statement")
            .path(0)
            .path("Condition")
            .path("StringEquals")
            .path("sts:ExternalId")
            .asText());
    JsonNode policy = invokePolicy();
    String arnAllowed = "arn:aws:sagemaker:us-east-1:" + ACCOUNT + ":endpoint/ep-allowed";
    String arnOther = "arn:aws:sagemaker:us-east-1:" + ACCOUNT + ":endpoint/ep-other";
    // Static evaluation of the policy as deployed: the rules grant ep-allowed, never ep-other.
    assertTrue(PolicyEvaluator.mayAllow(policy, "sagemaker:InvokeEndpoint", arnAllowed));
    assertFalse(PolicyEvaluator.mayAllow(policy, "sagemaker:InvokeEndpoint", arnOther));
    assertFalse(
        PolicyEvaluator.mayAllow(policy, "sagemaker:InvokeEndpointAsync", arnAllowed),
        "no rule allows invoke-async");
    assertFalse(PolicyEvaluator.mayAllow(policy, "sagemaker:DeleteEndpoint", arnAllowed));
    assertTrue(
        moto.iam("Action=GetRole&RoleName=sagegate-test-invoke-b")
            .contains("sagegate-test-invoke-b"));
    assertTrue(
        moto.iam("Action=ListRolePolicies&RoleName=sagegate-test-invoke-b")
            .contains("<PolicyNames/>"),
        "invoke-b: every rule that could allow it is overridden by an unconditional deny, so it has no policy");
  }

  static JsonNode invokePolicy() throws Exception {
    String xml =
        moto.iam(
            "Action=GetRolePolicy&RoleName=sagegate-test-invoke-a&PolicyName=sagegate-least-privilege");
    String doc = URLDecoder.decode(tag(xml, "PolicyDocument"), StandardCharsets.UTF_8);
    // moto 5.2.1 keeps an inline policy created through CloudFormation as a Python object and
    // answers its repr (single quotes); our documents hold no quotes or booleans of their own.
    return JSON.readTree(doc.startsWith("{'") ? doc.replace('\'', '"') : doc);
  }

  /**
   * moto 5.2.1's IAM enforcement cannot parse an inline policy created through CloudFormation (it
   * stores the Python object, not JSON, and fails with a 500). Re-put the very document of the
   * deployed template through PutRolePolicy so that enforcement evaluates it.
   */
  static void reputInlinePolicy(String roleName) throws Exception {
    JsonNode template =
        JSON.readTree(cfn.getTemplate(b -> b.stackName("sagegate-test")).templateBody());
    for (JsonNode r : template.path("Resources")) {
      if (roleName.equals(r.path("Properties").path("RoleName").asText())) {
        JsonNode p = r.path("Properties").path("Policies").path(0);
        moto.iam(
            "Action=PutRolePolicy&RoleName="
                + roleName
                + "&PolicyName="
                + p.path("PolicyName").asText()
                + "&PolicyDocument="
                + URLEncoder.encode(
                    JSON.writeValueAsString(p.path("PolicyDocument")), StandardCharsets.UTF_8));
        return;
      }
    }
    throw new AssertionError(roleName + " is not in the deployed template");
  }

  @Test
  @Order(2)
  void redeployingAnUnchangedSpecChangesNothing() {
    Run r = provisionOnMoto(moto, "deploy", SPEC, "test");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("existing stack sagegate-test"), r.err());
    assertTrue(r.err().contains("stack sagegate-test is up to date"), r.err());
    assertFalse(
        r.err()
            .toLowerCase(java.util.Locale.ROOT)
            .matches("(?s).*(waiter|did not complete|sdkclientexception).*"),
        "no SDK waiter failure text for an unchanged stack: " + r.err());
  }

  @Test
  @Order(2)
  void deployAndDestroyRefuseAnotherAccountBeforeAnyChange() {
    for (String verb : List.of("deploy", "destroy")) {
      Run r = provisionOnMoto(moto, verb, SPEC, "wrong-account");
      assertEquals(1, r.code(), r.err());
      assertTrue(
          r.err()
              .contains(
                  "refusing to "
                      + verb
                      + ": environment wrong-account is account 210987654321, but the"
                      + " credentials in use"),
          r.err());
      assertTrue(r.err().contains("are account " + ACCOUNT), r.err());
      assertFalse(r.err().contains("change set"), "nothing was attempted: " + r.err());
    }
    assertTrue(
        cfn.listStacks().stackSummaries().stream()
            .noneMatch(x -> x.stackName().equals("sagegate-wrong-account")));
  }

  @Test
  @Order(2)
  void anUnknownProfileIsRefusedWithoutAStackTrace() {
    Run r = provisionOnMoto(moto, "deploy", SPEC, "test", "--profile", "no-such-profile-sagegate");
    assertEquals(1, r.code(), r.err());
    assertTrue(r.err().contains("no-such-profile-sagegate"), r.err());
    assertFalse(r.err().contains("\tat "), r.err());
  }

  @Test
  @Order(3)
  void withIamEnforcedTheDerivedRolesGrantNoMoreThanTheRules() throws Exception {
    String allowed = endpointName("EndpointEpAllowed");
    String other = endpointName("EndpointEpOther");
    // Before enforcement: the gateway's session, then the invoke role with the ExternalId, as the
    // gateway does it; and a decoy role any principal may assume (trust "*").
    Credentials gateway =
        sts.assumeRole(b -> b.roleArn(GATEWAY_ROLE).roleSessionName("gateway")).credentials();
    Credentials invoke =
        sts(gateway)
            .assumeRole(
                b ->
                    b.roleArn(INVOKE_A)
                        .roleSessionName("alice")
                        .externalId("sagegate-test-external")
                        .sourceIdentity("alice"))
            .credentials();
    String anyone =
        "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"sts:AssumeRole\"}]}";
    moto.iam(
        "Action=CreateRole&RoleName=decoy&AssumeRolePolicyDocument="
            + URLEncoder.encode(anyone, StandardCharsets.UTF_8));
    reputInlinePolicy("sagegate-gateway-test");
    reputInlinePolicy("sagegate-test-invoke-a");
    moto.seedEndpointResult("{\"score\":0.87}", "application/json");
    try (SageMakerRuntimeClient runtime = runtime(invoke)) {
      // The gateway's AWS path: InvokeEndpoint under the invoke role's session.
      String body =
          runtime
              .invokeEndpoint(
                  b ->
                      b.endpointName(allowed)
                          .contentType("application/json")
                          .body(SdkBytes.fromUtf8String("{\"amount\":12}")))
              .body()
              .asUtf8String();
      assertEquals("{\"score\":0.87}", body);

      moto.enforceIam();
      try {
        StsException denied =
            assertThrows(
                StsException.class,
                () ->
                    sts(gateway)
                        .assumeRole(
                            b ->
                                b.roleArn("arn:aws:iam::" + ACCOUNT + ":role/decoy")
                                    .roleSessionName("gw")));
        assertEquals(
            403,
            denied.statusCode(),
            "the gateway role may assume its invoke roles only: " + denied.getMessage());
        SageMakerRuntimeException outside =
            assertThrows(
                SageMakerRuntimeException.class,
                () ->
                    runtime.invokeEndpoint(
                        b ->
                            b.endpointName(other)
                                .contentType("application/json")
                                .body(SdkBytes.fromUtf8String("{}"))));
        assertEquals(403, outside.statusCode(), "an endpoint no rule allows with this role");
        try (SageMakerClient asInvoke = moto.client(SageMakerClient.builder(), provider(invoke))) {
          SageMakerException control =
              assertThrows(
                  SageMakerException.class,
                  () -> asInvoke.deleteEndpoint(b -> b.endpointName(allowed)));
          assertEquals(403, control.statusCode(), "no control-plane action");
        }
      } finally {
        moto.relaxIam();
      }
    }
    assertEquals(
        EndpointStatus.IN_SERVICE,
        sm.describeEndpoint(b -> b.endpointName(allowed)).endpointStatus());
  }

  @Test
  @Order(4)
  void diffAgainstTheDeployedTemplateFindsNoDrift() throws Exception {
    String body = cfn.getTemplate(b -> b.stackName("sagegate-test")).templateBody();
    java.nio.file.Path t = java.nio.file.Files.createTempFile("deployed", ".json");
    try {
      java.nio.file.Files.writeString(t, body);
      Run r =
          provision(
              "diff",
              "--spec",
              SPEC,
              "--config",
              "src/test/resources/provision/moto-gateway.yaml",
              "--env",
              "test",
              "--template",
              t.toString());
      assertEquals(0, r.code(), r.out() + r.err());
      assertTrue(r.err().contains("test: 0 difference(s)"), r.err());
    } finally {
      java.nio.file.Files.deleteIfExists(t);
    }
  }

  @Test
  @Order(5)
  void destroyDeletesTheStack() {
    Run r = provisionOnMoto(moto, "destroy", SPEC, "test");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.err().contains("stack sagegate-test deleted"), r.err());
    assertThrows(
        SageMakerException.class, () -> sm.describeEndpoint(b -> b.endpointName("ep-allowed")));
    Run again = provisionOnMoto(moto, "destroy", SPEC, "test");
    assertEquals(0, again.code());
    assertTrue(again.err().contains("does not exist"), again.err());
  }

  @Test
  @Order(6)
  void aFailedDeploymentIsReportedWithTheFailingResource() {
    Run r = provisionOnMoto(moto, "deploy", SPEC, "broken");
    assertEquals(1, r.code(), r.err());
    assertTrue(r.err().contains("stack sagegate-broken FAILED"), r.err());
    assertFalse(
        r.err().matches("(?s).*(SDK Attempt Count|Request ID|Service: CloudFormation).*"),
        "no SDK text: " + r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
  }

  static StaticCredentialsProvider provider(Credentials c) {
    return StaticCredentialsProvider.create(
        AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), c.sessionToken()));
  }

  static StsClient sts(Credentials c) {
    return moto.client(StsClient.builder(), provider(c));
  }

  static SageMakerRuntimeClient runtime(Credentials c) {
    return moto.client(SageMakerRuntimeClient.builder(), provider(c));
  }
}
