package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.authz.Action;
import org.junit.jupiter.api.Test;

class SessionPolicyTest {

  private static final String ROLE = "arn:aws:iam::111122223333:role/sagegate-invoke";

  @Test
  void allowsExactlyOneActionOnOneLowerCasedEndpoint() throws Exception {
    String arn = SessionPolicy.endpointArn(ROLE, "eu-west-1", null, "Fraud-Scorer");
    assertEquals("arn:aws:sagemaker:eu-west-1:111122223333:endpoint/fraud-scorer", arn);
    for (Action action : Action.values()) {
      String text = SessionPolicy.of(arn, action);
      assertTrue(text.length() < SessionPolicy.MAX_LENGTH);
      JsonNode policy = new ObjectMapper().readTree(text);
      assertEquals("2012-10-17", policy.get("Version").asText());
      assertEquals(1, policy.get("Statement").size());
      JsonNode st = policy.get("Statement").get(0);
      assertEquals("Allow", st.get("Effect").asText());
      assertEquals(arn, st.get("Resource").asText());
      String expected =
          action == Action.INVOKE_ASYNC
              ? "sagemaker:InvokeEndpointAsync"
              : "sagemaker:InvokeEndpoint";
      assertEquals(expected, st.get("Action").asText(), action.toString());
    }
  }

  @Test
  void accountFromSettingsWinsAndPartitionFollowsTheRole() {
    assertEquals(
        "arn:aws:sagemaker:us-east-1:444455556666:endpoint/e",
        SessionPolicy.endpointArn(ROLE, "us-east-1", "444455556666", "e"));
    assertEquals(
        "arn:aws-cn:sagemaker:cn-north-1:111122223333:endpoint/e",
        SessionPolicy.endpointArn("arn:aws-cn:iam::111122223333:role/r", "cn-north-1", null, "e"));
  }

  @Test
  void longestEndpointNameStaysUnderTheLimit() {
    String arn = SessionPolicy.endpointArn(ROLE, "ap-southeast-3", null, "e".repeat(63));
    assertTrue(SessionPolicy.of(arn, Action.INVOKE_ASYNC).length() < SessionPolicy.MAX_LENGTH);
    assertThrows(
        IllegalStateException.class, () -> SessionPolicy.of("x".repeat(2100), Action.INVOKE));
  }

  @Test
  void rejectsWhatIsNotARoleArn() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                SessionPolicy.endpointArn(
                    "arn:aws:iam::111122223333:user/bob", "us-east-1", null, "e"));
    assertTrue(e.getMessage().startsWith("roleArn:"), e.getMessage());
  }
}
