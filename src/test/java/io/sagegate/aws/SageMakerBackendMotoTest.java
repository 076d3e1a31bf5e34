package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.authz.Action;
import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.config.AwsSettings;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.aws.MotoServer;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * The sagemaker backend against moto's SageMaker Runtime, under credentials assumed through moto's
 * STS with IAM enforcement on. Moto accepts any signature (the emulator test checks them); this
 * checks the wire format against a second, independent implementation.
 */
class SageMakerBackendMotoTest {

  static MotoServer moto;
  static Vertx vertx;
  static AwsClients clients;
  static StsCredentialsProvider provider;
  static SageMakerBackendFactory factory;

  @BeforeAll
  static void start() throws Exception {
    moto = MotoServer.start();
    vertx = Vertx.vertx();
    StsCredentialsProviderMotoTest.setUpIam(moto);
    AwsCredentials gateway = moto.createUser(MotoServer.anyCredentials(), "sagegate-gateway");
    moto.iam(
        MotoServer.anyCredentials(),
        Map.of(
            "Action",
            "PutUserPolicy",
            "UserName",
            "sagegate-gateway",
            "PolicyName",
            "assume",
            "PolicyDocument",
            "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Resource\":\"*\"}]}"));
    moto.resetAuth(0);
    AwsSettings settings =
        new AwsSettings(
            MotoServer.REGION,
            null,
            moto.url(),
            moto.url(),
            StsCredentialsProviderMotoTest.EXTERNAL_ID,
            null,
            null,
            null,
            false,
            10,
            null);
    clients = AwsClients.create(settings, StaticCredentialsProvider.create(gateway));
    provider = StsCredentialsProvider.create(vertx, clients, settings, new SimpleMeterRegistry());
    factory = SageMakerBackendFactory.create(vertx, clients);
  }

  @AfterAll
  static void stop() {
    if (factory != null) {
      factory.close();
    }
    if (clients != null) {
      clients.close();
    }
    if (moto != null) {
      moto.close();
    }
    if (vertx != null) {
      Bounds.join(vertx.close().toCompletionStage().toCompletableFuture());
    }
  }

  static EndpointConfig endpoint(String name) {
    return new EndpointConfig(
        name,
        Map.of(),
        new BackendConfig(
            "sagemaker",
            null,
            null,
            null,
            0,
            null,
            StsCredentialsProviderMotoTest.ROLE,
            List.of("s3://inputs-bucket/in/")));
  }

  static Invocation invocation(
      EndpointConfig ep, Action action, InvocationHeaders headers, Buffer body) throws Exception {
    ScopedCredentials creds =
        StsCredentialsProviderMotoTest.await(
            provider.credentialsFor(
                StsCredentialsProviderMotoTest.caller("alice"),
                ep,
                action,
                StsCredentialsProviderMotoTest.allow()));
    return new Invocation(
        "req", ep, action, StsCredentialsProviderMotoTest.caller("alice"), headers, body, creds);
  }

  @Test
  void invokeReturnsTheSeededResultWithItsHeaders() throws Exception {
    moto.seedSageMakerResults(
        "{\"account_id\":\""
            + MotoServer.ACCOUNT
            + "\",\"region\":\""
            + MotoServer.REGION
            + "\","
            + "\"results\":[{\"Body\":\"{\\\"label\\\":\\\"fraud\\\"}\",\"ContentType\":\"application/json\","
            + "\"InvokedProductionVariant\":\"prod-variant\",\"CustomAttributes\":\"model=v2\"}]}");
    EndpointConfig ep = endpoint("moto-scorer");
    Backend backend = factory.create(ep);
    InvocationHeaders h =
        InvocationHeaders.from(
            MultiMap.caseInsensitiveMultiMap()
                .add("Content-Type", "application/json")
                .add("Accept", "application/json"),
            Action.INVOKE);
    BackendResponse r =
        StsCredentialsProviderMotoTest.await(
            backend.invoke(invocation(ep, Action.INVOKE, h, Buffer.buffer("{\"amount\":12}"))));
    assertEquals(200, r.status());
    assertEquals("{\"label\":\"fraud\"}", r.body().toString());
    assertEquals("application/json", r.headers().get("Content-Type"));
    assertEquals("prod-variant", r.invokedVariant());
    assertEquals("model=v2", r.headers().get(SageMakerHeaders.CUSTOM_ATTRIBUTES));
  }

  @Test
  void asyncInvokeAnswers202WithLocations() throws Exception {
    moto.seedSageMakerAsyncResults(
        "{\"account_id\":\""
            + MotoServer.ACCOUNT
            + "\",\"region\":\""
            + MotoServer.REGION
            + "\","
            + "\"results\":[{\"data\":\"{\\\"done\\\":true}\",\"is_failure\":false}]}");
    EndpointConfig ep = endpoint("moto-async");
    InvocationHeaders h =
        InvocationHeaders.from(
            MultiMap.caseInsensitiveMultiMap()
                .add(SageMakerHeaders.INPUT_LOCATION, "s3://inputs-bucket/in/req-1.json")
                .add(SageMakerHeaders.INFERENCE_ID, "inf-77"),
            Action.INVOKE_ASYNC);
    BackendResponse r =
        StsCredentialsProviderMotoTest.await(
            factory
                .create(ep)
                .invokeAsync(invocation(ep, Action.INVOKE_ASYNC, h, Buffer.buffer())));
    assertEquals(202, r.status());
    assertEquals("inf-77", r.body().toJsonObject().getString("InferenceId"));
    assertNotNull(r.headers().get(SageMakerHeaders.OUTPUT_LOCATION));
    assertTrue(
        r.headers().get(SageMakerHeaders.OUTPUT_LOCATION).startsWith("s3://"),
        r.headers().get(SageMakerHeaders.OUTPUT_LOCATION));
  }
}
