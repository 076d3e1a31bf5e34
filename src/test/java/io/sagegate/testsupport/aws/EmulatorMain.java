package io.sagegate.testsupport.aws;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.io.File;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * Runs {@link SageMakerEmulator} as its own process, for clients that are not Java (the Python
 * conformance suite). Usage: {@code EmulatorMain --port N --scenario FILE}; {@code --port 0} (the
 * default) picks a free port. The first stdout line is {@code EMULATOR_PORT=<port>}, the second
 * {@code INSPECT_PORT=<port>}: a second loopback server whose {@code GET /requests} answers the
 * requests the emulator recorded (operation, endpoint, role, SourceIdentity, session policy,
 * status, error) as JSON, so an out-of-process test can see what reached "AWS". Runs until killed.
 *
 * <p>The scenario (JSON): {@code {"region", "accountId", "allowUnsignedPayload", "credentials":
 * [{"accessKeyId", "secretAccessKey"}], "roles": [{"arn", "trustedAccessKey", "externalId",
 * "actions": [...], "resources": [...]}], "endpoints": [{"name", "behaviour" (OK, MODEL_ERROR,
 * ...), "variant", "body", "contentType", "modelError": {"originalStatusCode", "originalMessage"},
 * "streamParts": [...], "streamError": {"message", "errorCode"}, "eventGapMillis"}]}}.
 */
public final class EmulatorMain {

  @JsonIgnoreProperties(ignoreUnknown = false)
  record Scenario(
      String region,
      String accountId,
      boolean allowUnsignedPayload,
      List<Credentials> credentials,
      List<RoleSpec> roles,
      List<EndpointSpec> endpoints) {
    Scenario {
      region = region == null ? SageMakerEmulator.DEFAULT_REGION : region;
      accountId = accountId == null ? SageMakerEmulator.DEFAULT_ACCOUNT : accountId;
      credentials = credentials == null ? List.of() : credentials;
      roles = roles == null ? List.of() : roles;
      endpoints = endpoints == null ? List.of() : endpoints;
    }
  }

  record Credentials(String accessKeyId, String secretAccessKey) {}

  record RoleSpec(
      String arn,
      String trustedAccessKey,
      String externalId,
      List<String> actions,
      List<String> resources) {}

  record ModelErrorSpec(int originalStatusCode, String originalMessage) {}

  record StreamErrorSpec(String message, String errorCode) {}

  record EndpointSpec(
      String name,
      SageMakerEmulator.Behaviour behaviour,
      String variant,
      String body,
      String contentType,
      ModelErrorSpec modelError,
      List<String> streamParts,
      StreamErrorSpec streamError,
      Long eventGapMillis) {}

  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public static void main(String[] args) throws Exception {
    int port = 0;
    File scenarioFile = null;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(value(args, ++i, "--port"));
        case "--scenario" -> scenarioFile = new File(value(args, ++i, "--scenario"));
        default -> usage("unknown argument: " + args[i]);
      }
    }
    if (port < 0 || port > 65_535) {
      usage("--port must be 0..65535, was " + port);
    }
    Scenario scenario =
        scenarioFile == null
            ? new Scenario(null, null, false, null, null, null)
            : JSON.readValue(scenarioFile, Scenario.class);

    Vertx vertx = Vertx.vertx();
    SageMakerEmulator emulator =
        SageMakerEmulator.start(
                vertx, Clock.systemUTC(), scenario.region(), scenario.accountId(), port)
            .await(AWAIT_SECONDS, SECONDS);
    apply(emulator, scenario);
    HttpServer inspect =
        vertx
            .createHttpServer()
            .requestHandler(
                req -> {
                  if ("/requests".equals(req.path())) {
                    req.response()
                        .putHeader("content-type", "application/json")
                        .end(requestsJson(emulator));
                  } else {
                    req.response().setStatusCode(404).end();
                  }
                })
            .listen(0, "127.0.0.1")
            .await(AWAIT_SECONDS, SECONDS);
    System.out.println("EMULATOR_PORT=" + emulator.port());
    System.out.println("INSPECT_PORT=" + inspect.actualPort());
    System.out.flush();
    CountDownLatch forever = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  vertx.close();
                  forever.countDown();
                }));
    forever.await(
        AWAIT_SECONDS,
        SECONDS); // runs until the process is stopped: the one intended unbounded wait
  }

  static void apply(SageMakerEmulator emulator, Scenario scenario) {
    emulator.allowUnsignedPayload(scenario.allowUnsignedPayload());
    for (Credentials c : scenario.credentials()) {
      emulator.addCredentials(c.accessKeyId(), c.secretAccessKey());
    }
    for (RoleSpec r : scenario.roles()) {
      emulator.addRole(
          SageMakerEmulator.Role.allowing(
              r.arn(), r.trustedAccessKey(), r.externalId(), r.actions(), r.resources()));
    }
    for (EndpointSpec e : scenario.endpoints()) {
      SageMakerEmulator.Endpoint endpoint = emulator.endpoint(e.name());
      if (e.behaviour() != null) {
        endpoint.behaviour(e.behaviour());
      }
      if (e.variant() != null) {
        endpoint.variant(e.variant());
      }
      if (e.body() != null) {
        endpoint.okBody(
            e.body().getBytes(java.nio.charset.StandardCharsets.UTF_8),
            e.contentType() == null ? "application/json" : e.contentType());
      }
      if (e.modelError() != null) {
        endpoint.modelError(e.modelError().originalStatusCode(), e.modelError().originalMessage());
      }
      if (e.streamParts() != null) {
        endpoint.streamTextParts(e.streamParts().toArray(String[]::new));
      }
      if (e.streamError() != null) {
        endpoint.endStreamWithModelError(e.streamError().message(), e.streamError().errorCode());
      }
      if (e.eventGapMillis() != null) {
        endpoint.eventGap(java.time.Duration.ofMillis(e.eventGapMillis()));
      }
    }
  }

  static String requestsJson(SageMakerEmulator emulator) {
    ArrayNode out = JSON.createArrayNode();
    for (SageMakerEmulator.RecordedRequest r : emulator.requests()) {
      ObjectNode n = out.addObject();
      n.put("operation", r.operation());
      n.put("endpointName", r.endpointName());
      n.put("accessKeyId", r.accessKeyId());
      n.put("roleArn", r.roleArn());
      n.put("sourceIdentity", r.sourceIdentity());
      n.put("sessionPolicy", r.sessionPolicy());
      n.set("sessionTags", JSON.valueToTree(r.sessionTags() == null ? Map.of() : r.sessionTags()));
      n.put("externalId", r.params().get("ExternalId"));
      n.put("status", r.status());
      n.put("errorType", r.errorType());
    }
    return out.toString();
  }

  private static String value(String[] args, int i, String flag) {
    if (i >= args.length) {
      usage(flag + " needs a value");
    }
    return args[i];
  }

  private static void usage(String problem) {
    System.err.println("EmulatorMain: " + problem);
    System.err.println("usage: EmulatorMain [--port N (0: free)] [--scenario FILE.json]");
    System.exit(2);
  }

  private EmulatorMain() {}
}
