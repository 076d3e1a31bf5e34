package io.sagegate.provision;

import static io.sagegate.provision.Cfn.getAtt;
import static io.sagegate.provision.Cfn.id;
import static io.sagegate.provision.Cfn.ordered;
import static io.sagegate.provision.Cfn.output;
import static io.sagegate.provision.Cfn.resource;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sagegate.provision.ProvisionSpec.EndpointConfigSpec;
import io.sagegate.provision.ProvisionSpec.Model;
import io.sagegate.provision.ProvisionSpec.Variant;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The SageMaker models, endpoint configurations and endpoints of one environment, and their names.
 *
 * <p>Every property of a model and of an endpoint configuration but its tags is create-only
 * (CloudFormation's resource schemas): a new image, model data, instance type or count, memory, KMS
 * key or VPC replaces the resource, and CloudFormation cannot replace a resource whose name is
 * fixed. So a model or endpoint configuration is named {@code <spec name>-<8 hex>}, the hex being
 * the start of the SHA-256 of its properties (tags and name left out; a configuration's models by
 * their own such names): the name changes exactly when a replacement is needed, and an unchanged
 * spec renders the same names. Endpoints keep the spec's name (the gateway's rules name them); an
 * update points the endpoint at the new configuration in place.
 */
final class SageMakerResources {

  /** Hex digits of the properties' hash in a generated name. */
  static final int HASH_CHARS = 8;

  /** SageMaker's limit on a model or endpoint configuration name. */
  static final int MAX_NAME = 63;

  private static final ObjectMapper CANONICAL =
      new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  private final StackContext c;
  private final Map<String, Map<String, Object>> modelProps = new LinkedHashMap<>();
  private final Map<String, Map<String, Object>> configProps = new LinkedHashMap<>();
  private final Map<String, String> modelNames = new LinkedHashMap<>();
  private final Map<String, String> configNames = new LinkedHashMap<>();

  SageMakerResources(StackContext c) {
    this.c = c;
    for (Model m : c.spec.models()) {
      Map<String, Object> props = modelProperties(m);
      modelNames.put(m.name(), versioned(m.name(), props));
      modelProps.put(m.name(), props);
    }
    for (EndpointConfigSpec ec : c.spec.endpointConfigs()) {
      // Hashed with the models' names, so a replaced model replaces the configurations using it.
      Map<String, Object> props = configProperties(ec, v -> modelNames.get(v.model()));
      configNames.put(ec.name(), versioned(ec.name(), props));
      configProps.put(
          ec.name(), configProperties(ec, v -> getAtt(id("Model", v.model()), "ModelName")));
    }
  }

  /** The SageMaker name of the spec's model {@code name} in this environment. */
  String modelName(String name) {
    String n = modelNames.get(name);
    if (n == null) {
      throw new IllegalArgumentException("'" + name + "' is not a model of the spec");
    }
    return n;
  }

  /** The SageMaker name of the spec's endpoint configuration {@code name} in this environment. */
  String configName(String name) {
    String n = configNames.get(name);
    if (n == null) {
      throw new IllegalArgumentException(
          "'" + name + "' is not an endpoint configuration of the spec");
    }
    return n;
  }

  List<String> modelNames() {
    return List.copyOf(modelNames.values());
  }

  List<String> configNames() {
    return List.copyOf(configNames.values());
  }

  void addTo(Map<String, Object> resources, Map<String, Object> outputs) {
    for (Model m : c.spec.models()) {
      Map<String, Object> props = new LinkedHashMap<>();
      props.put("ModelName", modelNames.get(m.name()));
      props.putAll(modelProps.get(m.name()));
      props.put("Tags", c.tags(Map.of()));
      resources.put(id("Model", m.name()), resource("AWS::SageMaker::Model", props));
      outputs.put(
          id("ModelName", m.name()),
          output(getAtt(id("Model", m.name()), "ModelName"), "Model " + m.name()));
    }
    for (EndpointConfigSpec ec : c.spec.endpointConfigs()) {
      Map<String, Object> props = new LinkedHashMap<>();
      props.put("EndpointConfigName", configNames.get(ec.name()));
      props.putAll(configProps.get(ec.name()));
      props.put("Tags", c.tags(ec.tags()));
      resources.put(
          id("EndpointConfig", ec.name()), resource("AWS::SageMaker::EndpointConfig", props));
    }
    for (ProvisionSpec.Endpoint ep : c.spec.endpoints()) {
      Map<String, Object> props = new LinkedHashMap<>();
      props.put("EndpointName", ep.name());
      props.put(
          "EndpointConfigName", getAtt(id("EndpointConfig", ep.config()), "EndpointConfigName"));
      props.put("Tags", c.tags(ep.tags()));
      resources.put(id("Endpoint", ep.name()), resource("AWS::SageMaker::Endpoint", props));
      outputs.put(
          id("EndpointName", ep.name()),
          output(getAtt(id("Endpoint", ep.name()), "EndpointName"), "Endpoint " + ep.name()));
    }
  }

  private Map<String, Object> modelProperties(Model m) {
    Map<String, Object> props = new LinkedHashMap<>();
    props.put("ExecutionRoleArn", executionRoleRef(m));
    Map<String, Object> container = new LinkedHashMap<>();
    container.put("Image", m.image());
    if (m.modelDataUrl() != null) {
      container.put("ModelDataUrl", m.modelDataUrl());
    }
    props.put("PrimaryContainer", container);
    if (m.inVpc()) {
      props.put(
          "VpcConfig", ordered("Subnets", c.e.subnets(), "SecurityGroupIds", c.e.securityGroups()));
    }
    props.put("EnableNetworkIsolation", m.isolated());
    return props;
  }

  private Map<String, Object> configProperties(
      EndpointConfigSpec ec, java.util.function.Function<Variant, Object> model) {
    Map<String, Object> props = new LinkedHashMap<>();
    List<Object> variants = new ArrayList<>();
    for (Variant v : ec.variants()) {
      Map<String, Object> pv = new LinkedHashMap<>();
      pv.put("VariantName", v.name() == null ? "AllTraffic" : v.name());
      pv.put("ModelName", model.apply(v));
      if (v.serverless() != null) {
        pv.put(
            "ServerlessConfig",
            ordered(
                "MemorySizeInMB",
                v.serverless().memoryMb(),
                "MaxConcurrency",
                v.serverless().maxConcurrency()));
      } else {
        pv.put("InstanceType", v.instanceType());
        pv.put("InitialInstanceCount", v.instanceCount() == null ? 1 : v.instanceCount());
        pv.put("InitialVariantWeight", v.weight() == null ? 1.0 : v.weight());
      }
      variants.add(pv);
    }
    props.put("ProductionVariants", variants);
    if (ec.encrypted() && hasInstances(ec) && c.e.volumeKmsKey() != null) {
      props.put("KmsKeyId", c.e.volumeKmsKey());
    }
    if (ec.dataCapture() != null) {
      Map<String, Object> dc = new LinkedHashMap<>();
      dc.put("EnableCapture", true);
      dc.put(
          "InitialSamplingPercentage",
          ec.dataCapture().samplingPercentage() == null
              ? 100
              : ec.dataCapture().samplingPercentage());
      dc.put("DestinationS3Uri", ec.dataCapture().destination());
      if (c.e.dataKmsKey() != null) {
        dc.put("KmsKeyId", c.e.dataKmsKey());
      }
      dc.put(
          "CaptureOptions",
          List.of(ordered("CaptureMode", "Input"), ordered("CaptureMode", "Output")));
      props.put("DataCaptureConfig", dc);
    }
    return props;
  }

  /** The execution role of a model: given by ARN, a compute persona's role, or its own. */
  Object executionRoleRef(Model m) {
    if (m.executionRoleArn() != null) {
      return m.executionRoleArn();
    }
    return getAtt(
        m.executionRole() != null ? id("Role", m.executionRole()) : id("ExecRole", m.name()),
        "Arn");
  }

  static boolean hasInstances(EndpointConfigSpec c) {
    return c.variants().stream().anyMatch(v -> v.instanceType() != null);
  }

  /**
   * {@code base-<hash of props>}, the base shortened so the whole fits SageMaker's 63 characters.
   */
  static String versioned(String base, Map<String, Object> props) {
    String hash;
    try {
      byte[] canonical = CANONICAL.writeValueAsString(props).getBytes(StandardCharsets.UTF_8);
      hash =
          HexFormat.of()
              .formatHex(MessageDigest.getInstance("SHA-256").digest(canonical))
              .substring(0, HASH_CHARS);
    } catch (JsonProcessingException | NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    String b =
        base.length() > MAX_NAME - HASH_CHARS - 1
            ? base.substring(0, MAX_NAME - HASH_CHARS - 1)
            : base;
    while (b.endsWith("-")) {
      b = b.substring(0, b.length() - 1);
    }
    return b + "-" + hash;
  }
}
