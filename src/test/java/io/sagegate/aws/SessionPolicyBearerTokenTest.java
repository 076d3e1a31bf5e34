package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.authz.Action;
import org.junit.jupiter.api.Test;

/** The session policy of an endpoint on the OpenAI path also allows CallWithBearerToken, on *. */
class SessionPolicyBearerTokenTest {

  private static final String ARN = "arn:aws:sagemaker:eu-west-1:111122223333:endpoint/llm";

  @Test
  void bearerTokenStatementOnlyWhenAsked() throws Exception {
    JsonNode p = new ObjectMapper().readTree(SessionPolicy.of(ARN, Action.INVOKE_STREAM, true));
    assertEquals(2, p.path("Statement").size());
    JsonNode bearer = p.path("Statement").get(1);
    assertEquals("sagemaker:CallWithBearerToken", bearer.path("Action").asText());
    assertEquals("*", bearer.path("Resource").asText());
    assertEquals(ARN, p.path("Statement").get(0).path("Resource").asText());
    assertFalse(SessionPolicy.of(ARN, Action.INVOKE, false).contains("CallWithBearerToken"));
    assertFalse(
        SessionPolicy.of(ARN, Action.INVOKE_ASYNC, true).contains("CallWithBearerToken"),
        "the OpenAI path has no async call");
  }
}
