package io.sagegate.provision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.sagegate.config.ConfigLoader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Updates that real CloudFormation can apply: a change to a create-only property replaces the
 * resource, and CloudFormation cannot replace a resource whose custom name stays the same. The
 * create-only properties come from CloudFormation's own resource schemas as bundled with cfn-lint
 * (python3), not from our list. Each create-only property the spec can set is changed in turn;
 * every model, endpoint configuration or endpoint whose create-only properties changed must change
 * its name, and the endpoint's name must never change (the gateway's rules name it).
 */
class CreateOnlyNamesTest {

  static final ObjectMapper JSON = new ObjectMapper();
  static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  static final String ENV = "dev";
  static final Map<String, String> NAME_PROPERTY =
      Map.of(
          "AWS::SageMaker::Model", "ModelName",
          "AWS::SageMaker::EndpointConfig", "EndpointConfigName",
          "AWS::SageMaker::Endpoint", "EndpointName");

  /** Resource type to its create-only property names (top level), from the schemas. */
  static final Map<String, List<String>> CREATE_ONLY = new TreeMap<>();

  @TempDir static Path tmp;

  @BeforeAll
  static void readSchemas() throws Exception {
    Path cfnlint = Path.of(python("import cfnlint, os; print(os.path.dirname(cfnlint.__file__))"));
    Path schemas = cfnlint.resolve("data/schemas");
    String region =
        ProvisionSpec.load(Path.of("conf/provision.yaml"))
            .environment(ENV)
            .region()
            .replace('-', '_');
    String index = Files.readString(schemas.resolve("providers/" + region + ".py"));
    for (String type : NAME_PROPERTY.keySet()) {
      Matcher m =
          Pattern.compile("\"" + Pattern.quote(type) + "\": \"([0-9a-f]+)\"").matcher(index);
      assertTrue(m.find(), type + " in cfn-lint's schema index for " + region);
      JsonNode schema =
          JSON.readTree(schemas.resolve("resources/" + m.group(1) + ".json").toFile());
      assertEquals(type, schema.path("typeName").asText());
      List<String> props = new ArrayList<>();
      schema
          .path("createOnlyProperties")
          .forEach(p -> props.add(p.asText().replaceFirst("^/properties/", "").split("/")[0]));
      assertFalse(props.isEmpty(), type);
      CREATE_ONLY.put(type, props);
    }
    assertTrue(
        CREATE_ONLY.get("AWS::SageMaker::Model").contains("PrimaryContainer"),
        CREATE_ONLY.toString());
  }

  static String python(String code) throws Exception {
    Process p = new ProcessBuilder("python3", "-c", code).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "python3 finished");
    assertEquals(0, p.exitValue(), "cfn-lint must be installed in python3: " + out);
    return out;
  }

  /** The example spec, changed by {@code edit}, rendered for {@link #ENV}. */
  static JsonNode render(String label, Consumer<ObjectNode> edit) throws IOException, Exception {
    ObjectNode spec = (ObjectNode) YAML.readTree(Path.of("conf/provision.yaml").toFile());
    edit.accept(spec);
    Path dir = Files.createDirectories(tmp.resolve(label));
    try (Stream<Path> files = Files.list(Path.of("conf"))) {
      for (Path f :
          files.filter(f -> f.getFileName().toString().startsWith("gateway-aws-")).toList()) {
        Files.copy(
            f, dir.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
    }
    Path file = dir.resolve("provision.yaml");
    YAML.writeValue(file.toFile(), spec);
    ProvisionSpec s = ProvisionSpec.load(file);
    return new TemplateRenderer(s, ENV, ConfigLoader.load(s.gatewayConfigFile(ENV))).render();
  }

  static ObjectNode at(ObjectNode spec, String path) {
    JsonNode n = spec;
    for (String p : path.split("\\.")) {
      n = p.matches("\\d+") ? n.path(Integer.parseInt(p)) : n.path(p);
    }
    return (ObjectNode) n;
  }

  static Stream<Arguments> changes() {
    return Stream.of(
        Arguments.of(
            "image",
            (Consumer<ObjectNode>)
                s ->
                    at(s, "models.0")
                        .put(
                            "image",
                            "111111111111.dkr.ecr.eu-west-1.amazonaws.com/fraud-scorer:1.4.3")),
        Arguments.of(
            "model data",
            (Consumer<ObjectNode>)
                s ->
                    at(s, "models.0")
                        .put("modelDataUrl", "s3://acme-ml-models/fraud/1.4.3/model.tar.gz")),
        Arguments.of(
            "instance type",
            (Consumer<ObjectNode>)
                s -> at(s, "endpointConfigs.0.variants.0").put("instanceType", "ml.m5.2xlarge")),
        Arguments.of(
            "instance count",
            (Consumer<ObjectNode>)
                s -> at(s, "endpointConfigs.0.variants.0").put("instanceCount", 3)),
        Arguments.of(
            "serverless memory",
            (Consumer<ObjectNode>)
                s -> at(s, "endpointConfigs.1.variants.0.serverless").put("memoryMb", 4096)),
        Arguments.of(
            "volume KMS key",
            (Consumer<ObjectNode>)
                s ->
                    at(s, "environments.dev")
                        .put(
                            "volumeKmsKey",
                            "arn:aws:kms:eu-west-1:111111111111:key/0000aaaa-0000-4000-8000-00000000000b")),
        Arguments.of(
            "data KMS key",
            (Consumer<ObjectNode>)
                s ->
                    at(s, "environments.dev")
                        .put(
                            "dataKmsKey",
                            "arn:aws:kms:eu-west-1:111111111111:key/0000aaaa-0000-4000-8000-00000000000c")),
        Arguments.of(
            "VPC subnets",
            (Consumer<ObjectNode>)
                s ->
                    ((ArrayNode) at(s, "environments.dev").path("subnets"))
                        .add("subnet-0111111111111111c")),
        Arguments.of(
            "VPC security groups",
            (Consumer<ObjectNode>)
                s ->
                    ((ArrayNode) at(s, "environments.dev").path("securityGroups"))
                        .add("sg-0111111111111111c")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("changes")
  void aChangedCreateOnlyPropertyGivesTheResourceANewNameAndTheEndpointKeepsItsOwn(
      String label, Consumer<ObjectNode> edit) throws Exception {
    JsonNode before = render("base-" + label.replace(' ', '-'), s -> {});
    JsonNode after = render(label.replace(' ', '-'), edit);
    int replaced = 0;
    for (Map.Entry<String, JsonNode> r : iterable(before.path("Resources"))) {
      String type = r.getValue().path("Type").asText();
      if (!NAME_PROPERTY.containsKey(type)) {
        continue;
      }
      JsonNode other = after.path("Resources").path(r.getKey());
      assertTrue(other.isObject(), r.getKey() + " is still rendered");
      String name = NAME_PROPERTY.get(type);
      boolean changed = false;
      for (String p : CREATE_ONLY.get(type)) {
        if (p.equals(name)) {
          continue;
        }
        JsonNode a = resolve(r.getValue().path("Properties").path(p), before);
        JsonNode b = resolve(other.path("Properties").path(p), after);
        changed |= !a.equals(b);
      }
      String oldName = r.getValue().path("Properties").path(name).asText();
      String newName = other.path("Properties").path(name).asText();
      if (changed) {
        replaced++;
        assertNotEquals(
            oldName,
            newName,
            label
                + ": "
                + r.getKey()
                + " ("
                + type
                + ") changes create-only properties"
                + " and so is replaced; a replaced resource cannot keep its custom name");
      } else {
        assertEquals(
            oldName,
            newName,
            label + ": " + r.getKey() + " changes nothing create-only; its name stays");
      }
      if (type.equals("AWS::SageMaker::Endpoint")) {
        assertEquals(
            oldName, newName, "endpoint names never change: the gateway's rules name them");
      }
    }
    assertTrue(
        replaced > 0, label + ": the change reaches a create-only property of some resource");
  }

  @Test
  void anUnchangedSpecRendersTheSameNamesAndNamesFitSageMaker() throws Exception {
    JsonNode a = render("same-1", s -> {});
    JsonNode b = render("same-2", s -> {});
    assertEquals(a, b);
    for (Map.Entry<String, JsonNode> r : iterable(a.path("Resources"))) {
      String name = NAME_PROPERTY.get(r.getValue().path("Type").asText());
      if (name != null) {
        assertTrue(
            r.getValue()
                .path("Properties")
                .path(name)
                .asText()
                .matches("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"),
            r.getKey() + " " + r.getValue().path("Properties").path(name));
      }
    }
  }

  /**
   * A property with {@code Fn::GetAtt [X, *Name]} replaced by X's name: a renamed model renames its
   * configs.
   */
  static JsonNode resolve(JsonNode n, JsonNode template) {
    if (n.isObject() && n.has("Fn::GetAtt")) {
      String id = n.path("Fn::GetAtt").path(0).asText();
      String attr = n.path("Fn::GetAtt").path(1).asText();
      JsonNode target = template.path("Resources").path(id).path("Properties").path(attr);
      return target.isMissingNode() ? n : target;
    }
    if (n.isObject()) {
      ObjectNode out = JSON.createObjectNode();
      n.fields().forEachRemaining(f -> out.set(f.getKey(), resolve(f.getValue(), template)));
      return out;
    }
    if (n.isArray()) {
      ArrayNode out = JSON.createArrayNode();
      n.forEach(x -> out.add(resolve(x, template)));
      return out;
    }
    return n;
  }

  static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode n) {
    return n::fields;
  }
}
