package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.config.AwsSettings;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/** The AWS path built from a GatewayConfig, end to end against the emulator. */
class SageMakerAwsPathTest {

  @Test
  void wiresCredentialsAndBackendsFromConfig() throws Exception {
    Vertx vertx = Vertx.vertx();
    try (SageMakerEmulator emulator =
        SageMakerBackendEmulatorTest.await(SageMakerEmulator.start(vertx))) {
      emulator.addCredentials("AKIAPATHTEST00000001", "path-secret");
      String role = emulator.roleArn("path-role");
      emulator.addRole(
          SageMakerEmulator.Role.allowing(
              role,
              "AKIAPATHTEST00000001",
              null,
              List.of("sagemaker:InvokeEndpoint"),
              List.of("*")));
      emulator.endpoint("scorer");
      EndpointConfig sm =
          new EndpointConfig(
              "scorer",
              Map.of(),
              new BackendConfig("sagemaker", null, null, null, 0, null, role, null));
      EndpointConfig container =
          new EndpointConfig(
              "local",
              Map.of(),
              new BackendConfig(
                  "container", "http://127.0.0.1:1", null, null, 0, null, null, null));
      AwsSettings aws =
          new AwsSettings(
              emulator.region(),
              null,
              emulator.uri().toString(),
              emulator.uri().toString(),
              null,
              null,
              null,
              null,
              false,
              0,
              null);
      GatewayConfig config =
          new GatewayConfig(null, null, null, aws, List.of(sm, container), List.of());
      assertTrue(AwsPath.needed(config));
      assertFalse(
          AwsPath.needed(new GatewayConfig(null, null, null, aws, List.of(container), List.of())));

      try (AwsPath path =
          AwsPath.create(
              vertx,
              config,
              new SimpleMeterRegistry(),
              StaticCredentialsProvider.create(
                  AwsBasicCredentials.create("AKIAPATHTEST00000001", "path-secret")))) {
        Caller caller = new Caller("bob", "iss", null, null, null, null, Map.of(), null);
        Decision allow =
            Decision.allow(
                new RuleConfig("r", RuleConfig.Effect.ALLOW, null, null, null, null, null, null));
        assertSame(
            ScopedCredentials.NONE,
            SageMakerBackendEmulatorTest.await(
                path.credentials().credentialsFor(caller, container, Action.INVOKE, allow)));
        ScopedCredentials creds =
            SageMakerBackendEmulatorTest.await(
                path.credentials().credentialsFor(caller, sm, Action.INVOKE, allow));
        assertEquals("bob", creds.sourceIdentity());
        BackendResponse r =
            SageMakerBackendEmulatorTest.await(
                path.backends()
                    .create(sm)
                    .invoke(
                        new Invocation(
                            "req",
                            sm,
                            Action.INVOKE,
                            caller,
                            InvocationHeaders.EMPTY,
                            Buffer.buffer("{}"),
                            creds,
                            allow,
                            null)));
        assertEquals(200, r.status());
      }
    } finally {
      Bounds.join(vertx.close().toCompletionStage().toCompletableFuture());
    }
  }
}
