package io.sagegate.provision;

import static io.sagegate.provision.ProvisionCli.provisionOnMoto;
import static io.sagegate.provision.ProvisionCli.stackStatus;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.config.ConfigLoader;
import io.sagegate.provision.ProvisionCli.Run;
import io.sagegate.testsupport.aws.ProvisionMoto;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.cloudformation.model.CloudFormationException;
import software.amazon.awssdk.services.cloudformation.model.CreateChangeSetRequest;
import software.amazon.awssdk.services.cloudformation.model.Stack;
import software.amazon.awssdk.services.cloudformation.model.StackResource;
import software.amazon.awssdk.services.cloudformation.model.StackStatus;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * {@code provision deploy} with a template bucket, against a real moto_server: a template over
 * CloudFormation's 51,200-byte inline limit goes to S3 under a content-addressed key and is passed
 * by {@code TemplateURL}; without a bucket it is refused with a message naming the option; a small
 * template without a bucket still goes inline, and with one goes through S3 (as the AWS CLI does).
 *
 * <p>The S3 endpoint is given as {@code localhost}: moto's CloudFormation reads a {@code
 * TemplateURL} by path (bucket/key) only when the URL's host says localhost, or when it is an
 * amazonaws.com host; the emulator's 127.0.0.1 address would be read as a virtual-hosted bucket.
 */
class ProvisionTemplateBucketMotoTest {

  static final String SPEC = "src/test/resources/provision/moto-spec.yaml";
  static final String GATEWAY_CONFIG = "src/test/resources/provision/moto-gateway.yaml";
  static final String BUCKET = "sagegate-templates";

  /** Personas added to the moto spec so that its compact template outgrows the inline limit. */
  static final int EXTRA_PERSONAS = 20;

  static ProvisionMoto moto;
  static CloudFormationClient cfn;
  static S3Client s3;
  static String s3Endpoint;

  @TempDir static Path tmp;

  @BeforeAll
  static void start() throws Exception {
    moto = ProvisionMoto.start();
    s3Endpoint = "http://localhost:" + moto.endpoint().getPort();
    cfn = moto.client(CloudFormationClient.builder());
    s3 =
        S3Client.builder()
            .endpointOverride(URI.create(s3Endpoint))
            .forcePathStyle(true)
            .region(Region.of(ProvisionMoto.REGION))
            .credentialsProvider(ProvisionMoto.CREDENTIALS)
            .httpClientBuilder(UrlConnectionHttpClient.builder())
            .build();
    ProvisionCli.prepareDeploys(moto);
    moto.s3Put(BUCKET, null, null);
  }

  /**
   * Every test's stacks create the same gateway and invoke roles (their names come from the gateway
   * configuration), so each test deletes what it created.
   */
  @AfterEach
  void deleteStacks() {
    for (Stack st : cfn.describeStacks().stacks()) {
      if (st.stackStatus() != StackStatus.DELETE_COMPLETE) {
        cfn.deleteStack(b -> b.stackName(st.stackName()));
        cfn.waiter().waitUntilStackDeleteComplete(b -> b.stackName(st.stackId()));
      }
    }
  }

  @AfterAll
  static void stop() {
    for (AutoCloseable c : new AutoCloseable[] {cfn, s3, moto}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // closing a client cannot fail in a way the test cares about
      }
    }
    ProvisionCli.forgetDeployCredentials();
  }

  /**
   * The moto spec with {@link #EXTRA_PERSONAS} more personas and another stack name, written next
   * to a copy of its gateway configuration.
   */
  static Path largeSpec(String stackName) throws Exception {
    StringBuilder personas = new StringBuilder();
    for (int i = 0; i < EXTRA_PERSONAS; i++) {
      personas
          .append("  - {name: analyst-")
          .append(i)
          .append(", kind: data-scientist, s3Read: [\"s3://sagegate-test-data/team-")
          .append(i)
          .append("/\"], s3Write: [\"s3://sagegate-test-data/team-")
          .append(i)
          .append("/out/\"]}\n");
    }
    String base = Files.readString(Path.of(SPEC));
    // The items are appended to the spec's last list, which must be its personas.
    assertTrue(
        base.substring(base.lastIndexOf("\n", base.length() - 2)).contains("{name: ml-engineer"),
        "personas come last");
    return specCopy(stackName, base + personas);
  }

  /**
   * {@code spec} (the moto spec's text) under another stack name, written next to a copy of the
   * gateway configuration it names.
   */
  static Path specCopy(String stackName, String spec) throws Exception {
    Path file = tmp.resolve(stackName + ".yaml");
    Files.writeString(file, spec.replace("stackName: sagegate", "stackName: " + stackName));
    Files.copy(
        Path.of(GATEWAY_CONFIG),
        tmp.resolve("moto-gateway.yaml"),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    return file;
  }

  /** The template exactly as deploy sends it (compact JSON). */
  static byte[] compactTemplate(Path spec) throws Exception {
    ProvisionSpec s = ProvisionSpec.load(spec);
    return new ObjectMapper()
        .writeValueAsBytes(
            new TemplateRenderer(s, "test", ConfigLoader.load(s.gatewayConfigFile("test")))
                .render());
  }

  static boolean stackExists(String name) {
    try {
      return !cfn.describeStacks(b -> b.stackName(name)).stacks().isEmpty();
    } catch (CloudFormationException e) {
      assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
      return false;
    }
  }

  static Set<String> keys(String prefix) {
    return s3.listObjectsV2(b -> b.bucket(BUCKET).prefix(prefix)).contents().stream()
        .map(S3Object::key)
        .collect(Collectors.toSet());
  }

  static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  void aTemplateOverTheInlineLimitWithoutABucketIsRefusedWithTheFix() throws Exception {
    Path spec = largeSpec("sagegate-nobucket");
    int size = compactTemplate(spec).length;
    assertTrue(
        size > StackDeployer.MAX_TEMPLATE_BODY,
        "the generated template must exceed the limit: " + size);

    Run r = provisionOnMoto(moto, "deploy", spec.toString(), "test");
    assertEquals(2, r.code(), r.err());
    assertTrue(
        r.err()
            .contains(
                "error: template is "
                    + size
                    + " bytes, over CloudFormation's inline limit of 51200 bytes"),
        r.err());
    assertTrue(
        r.err().contains("--s3-bucket BUCKET [--s3-prefix PREFIX]"),
        "the message names the fix: " + r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    assertFalse(stackExists("sagegate-nobucket-test"), "nothing was created");
  }

  @Test
  void aTemplateOverTheInlineLimitDeploysThroughTheBucket() throws Exception {
    Path spec = largeSpec("sagegate-large");
    byte[] template = compactTemplate(spec);
    assertTrue(
        template.length > StackDeployer.MAX_TEMPLATE_BODY,
        "the generated template must exceed the limit: " + template.length);
    String key = "stacks/large/" + sha256(template) + ".json";

    Run r =
        provisionOnMoto(
            moto,
            "deploy",
            spec.toString(),
            "test",
            "--s3-bucket",
            BUCKET,
            "--s3-prefix",
            "stacks/large",
            "--s3-endpoint-url",
            s3Endpoint);
    assertEquals(0, r.code(), r.err());
    assertTrue(
        r.err()
            .contains(
                "template (" + template.length + " bytes) uploaded to s3://" + BUCKET + "/" + key),
        r.err());

    // The object holds exactly the template deploy rendered, under its content-addressed key.
    assertEquals(Set.of(key), keys("stacks/large/"));
    byte[] stored = s3.getObjectAsBytes(b -> b.bucket(BUCKET).key(key)).asByteArray();
    assertEquals(
        new String(template, StandardCharsets.UTF_8), new String(stored, StandardCharsets.UTF_8));

    // CloudFormation built the stack from it: every resource, the extra personas' roles included.
    assertEquals("CREATE_COMPLETE", stackStatus(cfn, "sagegate-large-test"));
    List<StackResource> resources =
        cfn.describeStackResources(b -> b.stackName("sagegate-large-test")).stackResources();
    Set<String> ids =
        resources.stream().map(StackResource::logicalResourceId).collect(Collectors.toSet());
    Set<String> expected =
        new ObjectMapper()
            .readTree(template).path("Resources").properties().stream()
                .map(java.util.Map.Entry::getKey)
                .collect(Collectors.toSet());
    assertEquals(expected, ids);
    assertTrue(ids.contains("RoleAnalyst" + (EXTRA_PERSONAS - 1)), ids.toString());
    assertTrue(
        resources.stream().allMatch(x -> x.resourceStatusAsString().equals("CREATE_COMPLETE")),
        resources.toString());
    assertTrue(
        moto.iam("Action=GetRole&RoleName=sagegate-large-test-analyst-" + (EXTRA_PERSONAS - 1))
            .contains("sagegate-large-test-analyst-" + (EXTRA_PERSONAS - 1)));

    // The same template again, watching the request: CreateChangeSet names the object by URL and
    // carries no body; the same key is rewritten (no second object); nothing to change.
    CreateChangeSetRequest sent =
        redeploy("sagegate-large-test", template, new TemplateBucket(s3, BUCKET, "stacks/large"));
    assertEquals(s3Endpoint + "/" + BUCKET + "/" + key, sent.templateURL());
    assertTrue(sent.templateBody() == null, "no TemplateBody beside the TemplateURL");
    assertEquals(Set.of(key), keys("stacks/large/"));
  }

  /**
   * Deploys {@code template} again through {@link StackDeployer} with a CloudFormation client that
   * keeps the CreateChangeSet request it sends (an SDK interceptor: the call still goes to moto).
   */
  static CreateChangeSetRequest redeploy(String stackName, byte[] template, TemplateBucket bucket) {
    List<CreateChangeSetRequest> sent = new ArrayList<>();
    ExecutionInterceptor keep =
        new ExecutionInterceptor() {
          @Override
          public void beforeExecution(
              Context.BeforeExecution context, ExecutionAttributes attributes) {
            if (context.request() instanceof CreateChangeSetRequest r) {
              sent.add(r);
            }
          }
        };
    try (CloudFormationClient watched =
        moto.client(
            CloudFormationClient.builder()
                .overrideConfiguration(c -> c.addExecutionInterceptor(keep)))) {
      StringWriter err = new StringWriter();
      StackDeployer.Result r =
          new StackDeployer(
                  watched, bucket, new PrintWriter(new StringWriter()), new PrintWriter(err))
              .deploy(
                  stackName,
                  new String(template, StandardCharsets.UTF_8),
                  java.util.Map.of("env", "test"));
      assertTrue(r.ok(), err.toString());
      assertTrue(err.toString().contains("is up to date: nothing to change"), err.toString());
    }
    assertEquals(1, sent.size());
    return sent.get(0);
  }

  @Test
  void aSmallTemplateWithoutABucketGoesInline() throws Exception {
    byte[] template = compactTemplate(Path.of(SPEC));
    assertTrue(
        template.length < StackDeployer.MAX_TEMPLATE_BODY,
        "the moto spec is small: " + template.length);

    Run inline = provisionOnMoto(moto, "deploy", SPEC, "test");
    assertEquals(0, inline.code(), inline.err());
    assertTrue(
        inline.err().contains("template (" + template.length + " bytes) passed inline"),
        inline.err());
    assertFalse(inline.err().contains("uploaded"), inline.err());
    assertEquals("CREATE_COMPLETE", stackStatus(cfn, "sagegate-test"));
    assertEquals(
        new String(template, StandardCharsets.UTF_8),
        cfn.getTemplate(b -> b.stackName("sagegate-test")).templateBody());

    CreateChangeSetRequest sent = redeploy("sagegate-test", template, null);
    assertEquals(new String(template, StandardCharsets.UTF_8), sent.templateBody());
    assertNull(sent.templateURL());
  }

  @Test
  void withABucketASmallTemplateGoesThroughItToo() throws Exception {
    // With a bucket (and no prefix) every template goes through S3, as with the AWS CLI.
    Path spec = specCopy("sagegate-small", Files.readString(Path.of(SPEC)));
    byte[] small = compactTemplate(spec);
    Run viaBucket =
        provisionOnMoto(
            moto,
            "deploy",
            spec.toString(),
            "test",
            "--s3-bucket",
            BUCKET,
            "--s3-endpoint-url",
            s3Endpoint);
    assertEquals(0, viaBucket.code(), viaBucket.err());
    String key = sha256(small) + ".json";
    assertTrue(viaBucket.err().contains("uploaded to s3://" + BUCKET + "/" + key), viaBucket.err());
    assertTrue(keys("").contains(key), keys("").toString());
    assertEquals("CREATE_COMPLETE", stackStatus(cfn, "sagegate-small-test"));
  }

  @Test
  void bucketOptionsWithoutABucketAreRefused() {
    Run r = provisionOnMoto(moto, "deploy", SPEC, "test", "--s3-prefix", "stacks");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("--s3-prefix: needs --s3-bucket"), r.err());
  }
}
