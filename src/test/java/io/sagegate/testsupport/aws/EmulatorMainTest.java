package io.sagegate.testsupport.aws;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import io.vertx.core.Vertx;
import java.time.Clock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sagemakerruntime.SageMakerRuntimeClient;
import software.amazon.awssdk.services.sagemakerruntime.model.ModelErrorException;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.Credentials;
import software.amazon.awssdk.services.sts.model.StsException;

/** The emulator as configured from a scenario file is what the SDK's own clients expect. */
class EmulatorMainTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String SCENARIO =
      """
      {"credentials": [{"accessKeyId": "AKIDMAINTEST", "secretAccessKey": "s3cret"}],
       "roles": [{"arn": "arn:aws:iam::123456789012:role/invoke", "trustedAccessKey": "AKIDMAINTEST",
                  "externalId": "ext-1", "actions": ["sagemaker:InvokeEndpoint"],
                  "resources": ["arn:aws:sagemaker:us-east-1:123456789012:endpoint/*"]}],
       "endpoints": [{"name": "ok", "body": "{\\"score\\":1}", "contentType": "application/json"},
                     {"name": "broken", "behaviour": "MODEL_ERROR",
                      "modelError": {"originalStatusCode": 422, "originalMessage": "no"}}]}
      """;

  private final Vertx vertx = Vertx.vertx();

  @AfterEach
  void close() throws Exception {
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  @Test
  void scenarioConfiguresCredentialsRolesAndEndpoints() throws Exception {
    SageMakerEmulator emulator =
        SageMakerEmulator.start(
                vertx,
                Clock.systemUTC(),
                SageMakerEmulator.DEFAULT_REGION,
                SageMakerEmulator.DEFAULT_ACCOUNT,
                0)
            .await(AWAIT_SECONDS, SECONDS);
    EmulatorMain.apply(emulator, JSON.readValue(SCENARIO, EmulatorMain.Scenario.class));
    var http = UrlConnectionHttpClient.create();
    try (StsClient sts =
        StsClient.builder()
            .endpointOverride(emulator.uri())
            .region(Region.US_EAST_1)
            .httpClient(http)
            .credentialsProvider(
                StaticCredentialsProvider.create(
                    AwsBasicCredentials.create("AKIDMAINTEST", "s3cret")))
            .build()) {
      StsException wrongExternalId =
          assertThrows(
              StsException.class,
              () ->
                  sts.assumeRole(
                      r ->
                          r.roleArn("arn:aws:iam::123456789012:role/invoke")
                              .roleSessionName("alice")
                              .externalId("other")));
      assertEquals(403, wrongExternalId.statusCode());
      Credentials c =
          sts.assumeRole(
                  r ->
                      r.roleArn("arn:aws:iam::123456789012:role/invoke")
                          .roleSessionName("alice")
                          .sourceIdentity("alice")
                          .externalId("ext-1"))
              .credentials();
      try (SageMakerRuntimeClient runtime =
          SageMakerRuntimeClient.builder()
              .endpointOverride(emulator.uri())
              .region(Region.US_EAST_1)
              .httpClient(http)
              .credentialsProvider(
                  StaticCredentialsProvider.create(
                      AwsSessionCredentials.create(
                          c.accessKeyId(), c.secretAccessKey(), c.sessionToken())))
              .build()) {
        assertEquals(
            "{\"score\":1}",
            runtime
                .invokeEndpoint(r -> r.endpointName("ok").body(SdkBytes.fromUtf8String("{}")))
                .body()
                .asUtf8String());
        ModelErrorException e =
            assertThrows(
                ModelErrorException.class,
                () ->
                    runtime.invokeEndpoint(
                        r -> r.endpointName("broken").body(SdkBytes.fromUtf8String("{}"))));
        assertEquals(422, e.originalStatusCode());
      }
    } finally {
      http.close();
    }
    JsonNode seen = JSON.readTree(EmulatorMain.requestsJson(emulator));
    assertEquals(4, seen.size(), seen.toString());
    assertEquals("AssumeRole", seen.get(1).get("operation").asText());
    assertEquals("ext-1", seen.get(1).get("externalId").asText());
    assertEquals("alice", seen.get(1).get("sourceIdentity").asText());
    assertEquals("InvokeEndpoint", seen.get(3).get("operation").asText());
    assertEquals(424, seen.get(3).get("status").asInt());
    assertEquals("ModelError", seen.get(3).get("errorType").asText());
  }

  @Test
  void unknownScenarioFieldsAreRejectedByName() {
    UnrecognizedPropertyException e =
        assertThrows(
            UnrecognizedPropertyException.class,
            () ->
                JSON.readValue(
                    "{\"endpoints\": [{\"name\": \"x\", \"behavior\": \"OK\"}]}",
                    EmulatorMain.Scenario.class));
    assertTrue(e.getMessage().contains("behavior"), e.getMessage());
  }
}
