package io.sagegate.testsupport.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.PythonTools;
import io.sagegate.testsupport.aws.SageMakerEmulator.Behaviour;
import io.sagegate.testsupport.aws.SageMakerEmulator.RecordedRequest;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A second, independent client: boto3 talks to the emulator (STS XML, SageMaker JSON errors,
 * event-stream frames, SigV4 from botocore's signer). What both the Java SDK and boto3 accept is
 * what AWS's own wire format looks like.
 */
class EmulatorBoto3Test {

  private static final String KEY = "AKIABOTO3EMULATOR001";
  private static final String SECRET = "boto3-test-secret-known-only-to-the-emulator";

  private static final String SCRIPT =
      String.join(
          "\n",
          "import json, sys, boto3",
          "from botocore.config import Config",
          "from botocore.exceptions import ClientError",
          "url, key, secret, role = sys.argv[1:5]",
          "cfg = Config(retries={'total_max_attempts': 1})",
          "sts = boto3.client('sts', endpoint_url=url, region_name='us-east-1', config=cfg,",
          "                   aws_access_key_id=key, aws_secret_access_key=secret)",
          "policy = json.dumps({'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow',",
          "    'Action': ['sagemaker:InvokeEndpoint'],",
          "    'Resource': 'arn:aws:sagemaker:us-east-1:123456789012:endpoint/boto-*'}]})",
          "a = sts.assume_role(RoleArn=role, RoleSessionName='boto', ExternalId='ext-1',",
          "    SourceIdentity='bob', Policy=policy, DurationSeconds=900,",
          "    Tags=[{'Key': 'sagegate:subject', 'Value': 'bob'}])",
          "c = a['Credentials']",
          "out = {'arn': a['AssumedRoleUser']['Arn'], 'sourceIdentity': a['SourceIdentity'],",
          "       'expirationType': type(c['Expiration']).__name__}",
          "sm = boto3.client('sagemaker-runtime', endpoint_url=url, region_name='us-east-1',",
          "    config=cfg, aws_access_key_id=c['AccessKeyId'],",
          "    aws_secret_access_key=c['SecretAccessKey'], aws_session_token=c['SessionToken'])",
          "r = sm.invoke_endpoint(EndpointName='boto-ok', Body=b'{}', ContentType='application/json')",
          "out['ok'] = json.loads(r['Body'].read())",
          "out['variant'] = r['InvokedProductionVariant']",
          "try:",
          "    sm.invoke_endpoint(EndpointName='boto-model-error', Body=b'{}')",
          "except ClientError as e:",
          "    out['modelError'] = {'code': e.response['Error']['Code'],",
          "        'original': e.response.get('OriginalStatusCode'),",
          "        'status': e.response['ResponseMetadata']['HTTPStatusCode']}",
          "try:",
          "    sm.invoke_endpoint(EndpointName='other', Body=b'{}')",
          "except ClientError as e:",
          "    out['denied'] = {'code': e.response['Error']['Code'],",
          "        'message': e.response['Error']['Message']}",
          "s = sm.invoke_endpoint_with_response_stream(EndpointName='boto-stream', Body=b'{}')",
          "parts = []",
          "try:",
          "    for ev in s['Body']:",
          "        parts.append(ev['PayloadPart']['Bytes'].decode())",
          "except ClientError as e:",
          "    out['streamError'] = {'code': e.response['Error']['Code'],",
          "        'errorCode': e.response['Error'].get('ErrorCode') or e.response.get('ErrorCode')}",
          "out['parts'] = parts",
          "print(json.dumps(out))");

  private static Vertx vertx;
  private static SageMakerEmulator emulator;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    emulator =
        Bounds.join(SageMakerEmulator.start(vertx).toCompletionStage().toCompletableFuture());
    emulator
        .addCredentials(KEY, SECRET)
        .addRole(
            Role.allowing(
                emulator.roleArn("boto-role"), KEY, "ext-1", List.of("sagemaker:*"), List.of("*")));
    emulator.endpoint("boto-ok");
    emulator.endpoint("other");
    emulator.endpoint("boto-model-error", Behaviour.MODEL_ERROR).modelError(400, "nope");
    emulator
        .endpoint("boto-stream")
        .streamTextParts("one", "two")
        .endStreamWithModelError("too slow", "ModelInvocationTimeExceeded");
  }

  @AfterAll
  static void stop() {
    Bounds.join(emulator.stop().toCompletionStage().toCompletableFuture());
    Bounds.join(vertx.close().toCompletionStage().toCompletableFuture());
  }

  @Test
  void boto3UnderstandsEveryAnswer() throws Exception {
    PythonTools.require();
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "python3",
                "-c",
                SCRIPT,
                emulator.uri().toString(),
                KEY,
                SECRET,
                emulator.roleArn("boto-role")));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().keySet().removeIf(k -> k.startsWith("AWS_"));
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertEquals(0, p.waitFor(), new String(err, StandardCharsets.UTF_8));
    JsonNode r = new ObjectMapper().readTree(out);

    assertEquals("arn:aws:sts::123456789012:assumed-role/boto-role/boto", r.get("arn").asText());
    assertEquals("bob", r.get("sourceIdentity").asText());
    assertEquals("datetime", r.get("expirationType").asText());
    assertEquals("boto-ok", r.get("ok").get("endpoint").asText());
    assertEquals("AllTraffic", r.get("variant").asText());
    assertEquals("ModelError", r.get("modelError").get("code").asText());
    assertEquals(400, r.get("modelError").get("original").asInt());
    assertEquals(424, r.get("modelError").get("status").asInt());
    assertEquals("AccessDeniedException", r.get("denied").get("code").asText());
    assertTrue(r.get("denied").get("message").asText().contains("no session policy allows"));
    assertEquals("[\"one\",\"two\"]", r.get("parts").toString());
    assertEquals("ModelStreamError", r.get("streamError").get("code").asText());

    // Every boto3 request was signature-checked and answered as scripted.
    List<RecordedRequest> all = emulator.requests();
    assertEquals(5, all.size());
    assertEquals("bob", all.get(1).sourceIdentity());
    assertEquals("bob", all.get(1).sessionTags().get("sagegate:subject"));
  }
}
