package io.sagegate.provision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.sagegate.provision.guard.GuardSageMaker;
import io.sagegate.testsupport.aws.SigV4Verifier;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * The guard's own SageMaker client on the wire: a real HTTP server that checks the SigV4 signature
 * (our verifier, service {@code sagemaker}), the AWS JSON 1.1 target and body, and answers as
 * SageMaker does, including errors and throttling.
 */
class GuardSageMakerTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final String KEY = "AKIDGUARDTEST";
  static final String SECRET = "guard-test-secret";

  record Seen(String target, String contentType, JsonNode body, String securityToken) {}

  record Answer(int status, String body) {}

  private HttpServer server;
  private boolean stopped;
  private final List<Seen> seen = Collections.synchronizedList(new ArrayList<>());
  private final Deque<Answer> answers = new ArrayDeque<>();

  @BeforeEach
  void start() throws IOException {
    server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/", this::handle);
    server.start();
  }

  @AfterEach
  void stop() {
    if (!stopped) {
      server.stop(0);
    }
  }

  private void handle(HttpExchange x) throws IOException {
    byte[] body = x.getRequestBody().readAllBytes();
    Map<String, List<String>> headers = new LinkedHashMap<>(x.getRequestHeaders());
    SigV4Verifier.Result sig =
        new SigV4Verifier(Clock.systemUTC())
            .verify(
                new SigV4Verifier.Request(
                    x.getRequestMethod(),
                    x.getRequestURI().getRawPath(),
                    x.getRequestURI().getRawQuery(),
                    headers,
                    body),
                "sagemaker",
                k -> KEY.equals(k) ? SECRET : null);
    Answer a;
    if (!sig.valid()) {
      a =
          new Answer(
              403, "{\"__type\":\"SignatureDoesNotMatch\",\"message\":\"" + sig.failure() + "\"}");
    } else {
      seen.add(
          new Seen(
              x.getRequestHeaders().getFirst("X-Amz-Target"),
              x.getRequestHeaders().getFirst("Content-Type"),
              JSON.readTree(body),
              x.getRequestHeaders().getFirst("X-Amz-Security-Token")));
      synchronized (answers) {
        a = answers.isEmpty() ? new Answer(200, "{}") : answers.poll();
      }
    }
    byte[] out = a.body().getBytes(StandardCharsets.UTF_8);
    x.getResponseHeaders().add("Content-Type", "application/x-amz-json-1.1");
    x.sendResponseHeaders(a.status(), out.length);
    x.getResponseBody().write(out);
    x.close();
  }

  private GuardSageMaker client(String secret) {
    return GuardSageMaker.create(
        URI.create("http://127.0.0.1:" + server.getAddress().getPort()),
        "eu-west-1",
        StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, secret)));
  }

  @Test
  void describeModelIsASignedJsonCallAndReadsEveryImage() {
    answers.add(
        new Answer(
            200,
            "{\"ModelName\":\"m\",\"PrimaryContainer\":{\"Image\":\"img:1\"},"
                + "\"Containers\":[{\"Image\":\"img:2\"},{\"ContainerHostname\":\"no-image\"}]}"));
    try (GuardSageMaker sm = client(SECRET)) {
      assertEquals(List.of("img:1", "img:2"), sm.modelImages("m"));
    }
    assertEquals(1, seen.size(), "the signature verified");
    assertEquals("SageMaker.DescribeModel", seen.get(0).target());
    assertEquals("application/x-amz-json-1.1", seen.get(0).contentType());
    assertEquals("m", seen.get(0).body().path("ModelName").asText());
  }

  @Test
  void eachOperationNamesItsTargetAndInput() {
    answers.add(
        new Answer(
            200,
            "{\"ProductionVariants\":[{\"VariantName\":\"a\",\"ModelName\":\"m1\"},"
                + "{\"VariantName\":\"b\",\"ModelName\":\"m2\"}]}"));
    try (GuardSageMaker sm = client(SECRET)) {
      assertEquals(List.of("m1", "m2"), sm.endpointConfigModels("cfg"));
      sm.deleteEndpoint("ep");
      sm.deleteEndpointConfig("cfg");
      sm.stopTransformJob("job");
    }
    assertEquals(
        List.of(
            "SageMaker.DescribeEndpointConfig",
            "SageMaker.DeleteEndpoint",
            "SageMaker.DeleteEndpointConfig",
            "SageMaker.StopTransformJob"),
        seen.stream().map(Seen::target).toList());
    assertEquals("cfg", seen.get(0).body().path("EndpointConfigName").asText());
    assertEquals("ep", seen.get(1).body().path("EndpointName").asText());
    assertEquals("cfg", seen.get(2).body().path("EndpointConfigName").asText());
    assertEquals("job", seen.get(3).body().path("TransformJobName").asText());
  }

  @Test
  void aWrongSecretIsRefusedByTheVerifier() {
    try (GuardSageMaker sm = client("not-the-secret")) {
      GuardSageMaker.CallFailed e =
          assertThrows(GuardSageMaker.CallFailed.class, () -> sm.deleteEndpoint("ep"));
      assertEquals("SignatureDoesNotMatch", e.errorCode());
    }
    assertTrue(seen.isEmpty());
  }

  @Test
  void sessionCredentialsSendTheirToken() {
    try (GuardSageMaker sm =
        GuardSageMaker.create(
            URI.create("http://127.0.0.1:" + server.getAddress().getPort()),
            "eu-west-1",
            StaticCredentialsProvider.create(
                AwsSessionCredentials.create(KEY, SECRET, "session-token")))) {
      sm.deleteEndpoint("ep");
    }
    assertEquals("session-token", seen.get(0).securityToken());
  }

  @Test
  void serviceErrorsCarryTheirCodeAndAreNotRetried() {
    answers.add(
        new Answer(
            400,
            "{\"__type\":\"com.amazonaws.sagemaker#ValidationException\",\"message\":\"Could not find model\"}"));
    try (GuardSageMaker sm = client(SECRET)) {
      GuardSageMaker.CallFailed e =
          assertThrows(GuardSageMaker.CallFailed.class, () -> sm.modelImages("gone"));
      assertEquals("ValidationException", e.errorCode());
    }
    assertEquals(1, seen.size(), "a client error is not retried");
  }

  @Test
  void throttlingAndServerErrorsAreRetried() {
    answers.add(
        new Answer(400, "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}"));
    answers.add(new Answer(503, "{\"__type\":\"ServiceUnavailable\"}"));
    try (GuardSageMaker sm = client(SECRET)) {
      sm.deleteEndpoint("ep");
    }
    assertEquals(3, seen.size(), "two failures, then the answer");
    answers.add(new Answer(500, "{\"__type\":\"InternalFailure\"}"));
    answers.add(new Answer(500, "{\"__type\":\"InternalFailure\"}"));
    answers.add(new Answer(500, "garbage, not JSON"));
    try (GuardSageMaker sm = client(SECRET)) {
      GuardSageMaker.CallFailed e =
          assertThrows(GuardSageMaker.CallFailed.class, () -> sm.deleteEndpoint("ep"));
      assertEquals("HTTP 500", e.errorCode(), "three attempts, the last answer's code");
    }
    assertEquals(6, seen.size());
  }

  @Test
  void anUnreachableEndpointIsACallFailureNotAnException() {
    int port = server.getAddress().getPort();
    server.stop(0);
    stopped = true;
    try (GuardSageMaker sm =
        GuardSageMaker.create(
            URI.create("http://127.0.0.1:" + port),
            "eu-west-1",
            StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, SECRET)))) {
      GuardSageMaker.CallFailed e =
          assertThrows(GuardSageMaker.CallFailed.class, () -> sm.deleteEndpoint("ep"));
      assertTrue(e.errorCode().endsWith("Exception"), e.errorCode());
    }
  }
}
