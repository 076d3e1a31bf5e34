package io.sagegate.provision;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.GatewayConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Invoke roles of endpoints on SageMaker's OpenAI-compatible path ({@code backend.openai.enabled})
 * get {@code sagemaker:CallWithBearerToken} (resource *), the others do not, and {@code diff}
 * reports either way of drifting.
 */
class InvokeRoleBearerTokenTest {

  private static final Path SPEC = Path.of("conf/provision.yaml");
  private static final ObjectMapper JSON = new ObjectMapper();

  /** conf/gateway-aws-dev.yaml with the sentiment endpoint on the OpenAI path. */
  private static GatewayConfig openAiConfig() throws Exception {
    String yaml =
        Files.readString(Path.of("conf/gateway-aws-dev.yaml"))
            .replace(
                "role/sagegate-dev-invoke-nlp\"}",
                "role/sagegate-dev-invoke-nlp\", openai: {enabled: true}}");
    assertTrue(yaml.contains("openai: {enabled: true}"));
    return ConfigLoader.parse(yaml, "gateway-aws-dev.yaml");
  }

  private static ObjectNode render(GatewayConfig config) {
    return new TemplateRenderer(ProvisionSpec.load(SPEC), "dev", config).render();
  }

  private static List<JsonNode> statements(JsonNode template, String role) {
    List<JsonNode> out = new ArrayList<>();
    template
        .path("Resources")
        .forEach(
            r -> {
              if (role.equals(r.path("Properties").path("RoleName").asText())) {
                r.path("Properties")
                    .path("Policies")
                    .forEach(p -> p.path("PolicyDocument").path("Statement").forEach(out::add));
              }
            });
    return out;
  }

  private static boolean allowsBearer(JsonNode template, String role) {
    return statements(template, role).stream()
        .anyMatch(s -> s.path("Action").toString().contains("CallWithBearerToken"));
  }

  @Test
  void onlyTheRolesOfOpenAiEndpointsGetCallWithBearerToken() throws Exception {
    GatewayConfig config = openAiConfig();
    ObjectNode t = render(config);
    assertTrue(allowsBearer(t, "sagegate-dev-invoke-nlp"));
    assertTrue(!allowsBearer(t, "sagegate-dev-invoke-risk"));
    JsonNode bearer =
        statements(t, "sagegate-dev-invoke-nlp").stream()
            .filter(s -> s.path("Action").toString().contains("CallWithBearerToken"))
            .findFirst()
            .orElseThrow();
    assertEquals(
        "*",
        bearer.path("Resource").isArray()
            ? bearer.path("Resource").get(0).asText()
            : bearer.path("Resource").asText());
    assertEquals(List.of(), IamDiff.differences(t, config, "eu-west-1", "111111111111"));
    // The shipped configuration (no OpenAI endpoint) renders no such grant.
    GatewayConfig plain = ConfigLoader.load(Path.of("conf/gateway-aws-dev.yaml"));
    assertTrue(!allowsBearer(render(plain), "sagegate-dev-invoke-nlp"));
  }

  @Test
  void diffKnowsCallWithBearerTokenBothWays() throws Exception {
    GatewayConfig config = openAiConfig();
    // IAM without it, the rules needing it:
    ObjectNode t = render(config);
    t.path("Resources")
        .forEach(
            r ->
                r.path("Properties")
                    .path("Policies")
                    .forEach(
                        p -> {
                          ArrayNode st = (ArrayNode) p.path("PolicyDocument").path("Statement");
                          for (int i = st.size() - 1; i >= 0; i--) {
                            if (st.get(i)
                                .path("Action")
                                .toString()
                                .contains("CallWithBearerToken")) {
                              st.remove(i);
                            }
                          }
                        }));
    List<String> missing = IamDiff.differences(t, config, "eu-west-1", "111111111111");
    // Both roles that may invoke sentiment (nlp by the endpoint, support by a rule's own roleArn).
    assertEquals(2, missing.size(), missing.toString());
    assertTrue(
        missing.stream().allMatch(l -> l.contains("does not allow sagemaker:CallWithBearerToken")),
        missing.toString());
    assertTrue(
        missing.stream().anyMatch(l -> l.contains("invoke role sagegate-dev-invoke-nlp:")),
        missing.toString());
    // IAM with it, the rules no longer needing it:
    GatewayConfig plain = ConfigLoader.load(Path.of("conf/gateway-aws-dev.yaml"));
    List<String> extra = IamDiff.differences(render(config), plain, "eu-west-1", "111111111111");
    assertEquals(2, extra.size(), extra.toString());
    assertTrue(
        extra.stream().allMatch(l -> l.contains("IAM allows sagemaker:CallWithBearerToken")),
        extra.toString());
  }
}
