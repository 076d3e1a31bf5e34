package io.sagegate.provision.guard;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * The detective guard: an EventBridge target for CloudTrail's SageMaker CreateEndpoint,
 * CreateEndpointConfig and CreateTransformJob events. It checks the calling role, the models
 * deployed and the images they run (DescribeModel) against the approved (role, model, image)
 * entries and removes what is not approved (deletes the endpoint or endpoint config, stops the
 * transform job). One JSON audit record per event goes to standard output (CloudWatch Logs);
 * malformed or unexpected events are recorded and ignored, never thrown. Events are parsed with
 * Jackson rather than aws-lambda-java-events, to keep the jar's dependencies as they are; SageMaker
 * is called through {@link GuardSageMaker}, which keeps the jar a few MB.
 */
public final class GuardHandler implements RequestStreamHandler {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final GuardSageMaker sageMaker;
  private final ApprovedPairs approved;
  private final PrintStream audit;

  /**
   * For Lambda: SageMaker in the function's region, approved pairs from {@value
   * ApprovedPairs#ENV_VAR}.
   */
  public GuardHandler() {
    this(
        GuardSageMaker.create(null, null, null),
        ApprovedPairs.fromJson(System.getenv(ApprovedPairs.ENV_VAR)));
  }

  public GuardHandler(GuardSageMaker sageMaker, ApprovedPairs approved) {
    this(sageMaker, approved, System.out);
  }

  public GuardHandler(GuardSageMaker sageMaker, ApprovedPairs approved, PrintStream audit) {
    if (sageMaker == null || approved == null || audit == null) {
      throw new IllegalArgumentException("sageMaker, approved and audit: required");
    }
    this.sageMaker = sageMaker;
    this.approved = approved;
    this.audit = audit;
  }

  /** The audit record of one event. */
  public record Verdict(
      @Nullable String eventId,
      @Nullable String eventName,
      @Nullable String caller,
      List<String> models,
      String decision,
      String action,
      String reason) {}

  @Override
  public void handleRequest(InputStream input, OutputStream output, Context context)
      throws IOException {
    Verdict v = handle(input.readAllBytes());
    String line = JSON.writeValueAsString(v);
    audit.println(line);
    audit.flush();
    output.write(line.getBytes(StandardCharsets.UTF_8));
  }

  /** Decides and remediates one event; never throws. */
  public Verdict handle(byte[] event) {
    JsonNode root;
    try {
      root = JSON.readTree(event);
    } catch (IOException | RuntimeException e) {
      return ignored(null, null, "malformed event: not JSON");
    }
    if (root == null || !root.isObject()) {
      return ignored(null, null, "malformed event: not a JSON object");
    }
    JsonNode d = root.path("detail");
    String eventId = text(d.path("eventID"), text(root.path("id"), null));
    String name = text(d.path("eventName"), null);
    if (!"sagemaker.amazonaws.com".equals(text(d.path("eventSource"), null)) || name == null) {
      return ignored(eventId, name, "unexpected event: not a SageMaker CloudTrail API call");
    }
    if (d.hasNonNull("errorCode")) {
      return ignored(
          eventId,
          name,
          "the call failed (" + d.path("errorCode").asText() + "): nothing was created");
    }
    String caller = caller(d.path("userIdentity"));
    JsonNode req = d.path("requestParameters");
    return switch (name) {
      case "CreateEndpointConfig" -> endpointConfig(eventId, caller, req);
      case "CreateEndpoint" -> endpoint(eventId, caller, req);
      case "CreateTransformJob" -> transformJob(eventId, caller, req);
      default -> ignored(eventId, name, "unexpected event: " + name + " is not guarded");
    };
  }

  /** Runs a remediation; a failure is recorded in the audit record, never thrown. */
  private static String remediate(String action, Runnable call) {
    try {
      call.run();
      return action;
    } catch (GuardSageMaker.CallFailed e) {
      return action + " FAILED (" + e.errorCode() + ")";
    }
  }

  private Verdict endpointConfig(@Nullable String eventId, @Nullable String caller, JsonNode req) {
    String config = text(req.path("endpointConfigName"), null);
    List<String> models = new ArrayList<>();
    req.path("productionVariants")
        .forEach(
            v -> {
              String m = text(v.path("modelName"), null);
              if (m != null) {
                models.add(m);
              }
            });
    if (config == null || models.isEmpty()) {
      return ignored(
          eventId,
          "CreateEndpointConfig",
          "malformed event: no endpointConfigName or productionVariants[].modelName");
    }
    return decide(
        eventId,
        "CreateEndpointConfig",
        caller,
        models,
        unapproved(caller, models),
        "DeleteEndpointConfig " + config,
        () -> sageMaker.deleteEndpointConfig(config));
  }

  private Verdict endpoint(@Nullable String eventId, @Nullable String caller, JsonNode req) {
    String endpoint = text(req.path("endpointName"), null);
    String config = text(req.path("endpointConfigName"), null);
    if (endpoint == null || config == null) {
      return ignored(
          eventId, "CreateEndpoint", "malformed event: no endpointName or endpointConfigName");
    }
    List<String> models = new ArrayList<>();
    String why;
    try {
      models.addAll(sageMaker.endpointConfigModels(config));
      why =
          models.isEmpty()
              ? "endpoint config " + config + " names no model"
              : unapproved(caller, models);
    } catch (GuardSageMaker.CallFailed e) {
      // Fail closed: an endpoint whose models cannot be verified is not approved.
      why = "endpoint config " + config + " could not be read, so its models cannot be verified";
    }
    return decide(
        eventId,
        "CreateEndpoint",
        caller,
        models,
        why,
        "DeleteEndpoint " + endpoint,
        () -> sageMaker.deleteEndpoint(endpoint));
  }

  private Verdict transformJob(@Nullable String eventId, @Nullable String caller, JsonNode req) {
    String job = text(req.path("transformJobName"), null);
    String model = text(req.path("modelName"), null);
    if (job == null || model == null) {
      return ignored(
          eventId, "CreateTransformJob", "malformed event: no transformJobName or modelName");
    }
    return decide(
        eventId,
        "CreateTransformJob",
        caller,
        List.of(model),
        unapproved(caller, List.of(model)),
        "StopTransformJob " + job,
        () -> sageMaker.stopTransformJob(job));
  }

  /**
   * Why the deployment is not approved, or null when it is: every model must be approved for the
   * caller with the image SageMaker says it runs (read with DescribeModel; a model that cannot be
   * read fails closed).
   */
  private @Nullable String unapproved(@Nullable String caller, List<String> models) {
    if (caller == null) {
      return "the caller's role is unknown";
    }
    for (String m : models) {
      if (!approved.approvesName(caller, m)) {
        return "(" + caller + ", " + m + ") is not an approved pair";
      }
      List<String> images;
      try {
        images = sageMaker.modelImages(m);
      } catch (GuardSageMaker.CallFailed e) {
        return "model " + m + " could not be read, so its image cannot be verified";
      }
      if (images.isEmpty()) {
        return "model " + m + " names no image";
      }
      for (String image : images) {
        if (!approved.approved(caller, m, image)) {
          return "("
              + caller
              + ", "
              + m
              + ", "
              + image
              + ") is not an approved (model, image) pair";
        }
      }
    }
    return null;
  }

  /** The calling role: the session issuer of an assumed role, else the identity's own ARN. */
  static @Nullable String caller(JsonNode identity) {
    String issuer = text(identity.path("sessionContext").path("sessionIssuer").path("arn"), null);
    return issuer != null ? issuer : text(identity.path("arn"), null);
  }

  /**
   * The verdict on one event: approved when nothing is wrong ({@code why} is null), otherwise
   * unapproved with the remediation attempted and its outcome.
   */
  private static Verdict decide(
      @Nullable String eventId,
      String name,
      @Nullable String caller,
      List<String> models,
      @Nullable String why,
      String remediation,
      Runnable remedy) {
    if (why == null) {
      return approved(eventId, name, caller, models);
    }
    return new Verdict(
        eventId, name, caller, models, "unapproved", remediate(remediation, remedy), why);
  }

  private static Verdict approved(
      @Nullable String eventId, String name, @Nullable String caller, List<String> models) {
    return new Verdict(
        eventId, name, caller, models, "approved", "none", "approved (role, model, image) entries");
  }

  private static Verdict ignored(@Nullable String eventId, @Nullable String name, String reason) {
    return new Verdict(eventId, name, null, List.of(), "ignored", "none", reason);
  }

  private static @Nullable String text(JsonNode n, @Nullable String fallback) {
    return n != null && n.isTextual() && !n.asText().isBlank() ? n.asText() : fallback;
  }
}
