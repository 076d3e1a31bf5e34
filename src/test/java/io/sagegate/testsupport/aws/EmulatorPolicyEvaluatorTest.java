package io.sagegate.testsupport.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.testsupport.aws.IamPolicy.Decision;
import io.sagegate.testsupport.aws.IamPolicy.MalformedPolicyException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The emulator's minimal IAM evaluator: the emulator is only as good an oracle as this. */
class EmulatorPolicyEvaluatorTest {

  private static final String EP = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/";

  @Test
  void wildcardsMatchActionsCaseInsensitivelyAndResourcesExactly() throws Exception {
    IamPolicy p =
        IamPolicy.parse(
            "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":"
                + "\"SageMaker:InvokeEndpoint*\",\"Resource\":\""
                + EP
                + "team-?-*\"}}");
    assertEquals(Decision.ALLOW, p.evaluate("sagemaker:InvokeEndpoint", EP + "team-a-x"));
    assertEquals(Decision.ALLOW, p.evaluate("sagemaker:InvokeEndpointAsync", EP + "team-b-"));
    assertEquals(Decision.NO_MATCH, p.evaluate("sagemaker:InvokeEndpoint", EP + "team-ab-x"));
    assertEquals(Decision.NO_MATCH, p.evaluate("sagemaker:InvokeEndpoint", EP + "TEAM-a-x"));
    assertEquals(Decision.NO_MATCH, p.evaluate("sagemaker:CreateEndpoint", EP + "team-a-x"));
    // Regex metacharacters in a resource are literal.
    IamPolicy dot = IamPolicy.allow(List.of("s:a"), List.of("a.b"));
    assertEquals(Decision.NO_MATCH, dot.evaluate("s:a", "axb"));
    assertEquals(Decision.ALLOW, dot.evaluate("s:a", "a.b"));
  }

  @Test
  void explicitDenyWinsRegardlessOfOrder() throws Exception {
    IamPolicy p =
        IamPolicy.parse(
            "{\"Version\":\"2012-10-17\",\"Statement\":["
                + "{\"Effect\":\"Deny\",\"Action\":[\"sagemaker:InvokeEndpointAsync\"],\"Resource\":\"*\"},"
                + "{\"Effect\":\"Allow\",\"Action\":\"sagemaker:*\",\"Resource\":[\""
                + EP
                + "a\",\""
                + EP
                + "b\"]}]}");
    assertEquals(Decision.EXPLICIT_DENY, p.evaluate("sagemaker:InvokeEndpointAsync", EP + "a"));
    assertEquals(Decision.ALLOW, p.evaluate("sagemaker:InvokeEndpoint", EP + "b"));
    assertEquals(Decision.NO_MATCH, p.evaluate("sagemaker:InvokeEndpoint", EP + "c"));
  }

  @Test
  void refusesWhatItCannotJudge() {
    for (String bad :
        List.of(
            "not json",
            "[]",
            "{}",
            "{\"Statement\":{\"Effect\":\"Maybe\",\"Action\":\"a:b\",\"Resource\":\"*\"}}",
            "{\"Statement\":{\"Effect\":\"Allow\",\"Resource\":\"*\"}}",
            "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":[],\"Resource\":\"*\"}}",
            "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"nocolon\",\"Resource\":\"*\"}}",
            "{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"a:b\",\"Resource\":\"*\","
                + "\"Condition\":{\"StringEquals\":{\"aws:SourceIdentity\":\"x\"}}}}")) {
      MalformedPolicyException e =
          assertThrows(MalformedPolicyException.class, () -> IamPolicy.parse(bad), bad);
      assertTrue(!e.getMessage().isBlank());
    }
  }
}
