package io.sagegate.aws;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagegate.authz.Action;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * The inline session policy passed to AssumeRole: it allows exactly one IAM action on exactly one
 * endpoint, so the session can do no more than the gateway's decision allowed even if the role
 * itself allows more (IAM intersects the role's policies with this one). SageMaker authorizes
 * InvokeEndpointWithResponseStream under {@code sagemaker:InvokeEndpoint}, so invoke and
 * invoke-stream share one policy; async uses {@code sagemaker:InvokeEndpointAsync}.
 */
public final class SessionPolicy {

  /** STS's limit on the plain-text policy. */
  public static final int MAX_LENGTH = 2048;

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Pattern ROLE_ARN =
      Pattern.compile("^arn:(aws[a-zA-Z-]*):iam::(\\d{12}):role/[\\w+=,.@/-]{1,512}$");

  private SessionPolicy() {}

  /** The IAM action a session for {@code action} needs. */
  public static String iamAction(Action action) {
    return action == Action.INVOKE_ASYNC
        ? "sagemaker:InvokeEndpointAsync"
        : "sagemaker:InvokeEndpoint";
  }

  /**
   * The endpoint's ARN, with the name lower-cased as SageMaker stores it.
   *
   * @param accountId the endpoint's account; null takes the role's account
   */
  public static String endpointArn(
      String roleArn, String region, @Nullable String accountId, String endpointName) {
    Matcher m = parseRole(roleArn);
    String account = accountId != null ? accountId : m.group(2);
    return "arn:"
        + m.group(1)
        + ":sagemaker:"
        + region
        + ":"
        + account
        + ":endpoint/"
        + endpointName.toLowerCase(Locale.ROOT);
  }

  /**
   * The policy JSON for one action on one endpoint.
   *
   * @throws IllegalStateException if the policy would exceed {@value #MAX_LENGTH} characters
   *     (cannot happen for valid endpoint names; checked so it never reaches STS unnoticed)
   */
  public static String of(String endpointArn, Action action) {
    return of(endpointArn, action, false);
  }

  /**
   * The IAM action SageMaker's OpenAI-compatible path needs besides InvokeEndpoint (resource {@code
   * *}).
   */
  public static final String CALL_WITH_BEARER_TOKEN = "sagemaker:CallWithBearerToken";

  /**
   * The policy JSON for one action on one endpoint; with {@code bearerToken} (an endpoint served on
   * the OpenAI-compatible path) it also allows {@value #CALL_WITH_BEARER_TOKEN}, which takes no
   * resource but {@code *}.
   */
  public static String of(String endpointArn, Action action, boolean bearerToken) {
    ObjectNode policy = JSON.createObjectNode();
    policy.put("Version", "2012-10-17");
    com.fasterxml.jackson.databind.node.ArrayNode statements = policy.putArray("Statement");
    ObjectNode statement = statements.addObject();
    statement.put("Sid", "SagegateInvoke");
    statement.put("Effect", "Allow");
    statement.put("Action", iamAction(action));
    statement.put("Resource", endpointArn);
    if (bearerToken && action != Action.INVOKE_ASYNC) {
      ObjectNode bearer = statements.addObject();
      bearer.put("Sid", "SagegateBearerToken");
      bearer.put("Effect", "Allow");
      bearer.put("Action", CALL_WITH_BEARER_TOKEN);
      bearer.put("Resource", "*");
    }
    String text;
    try {
      text = JSON.writeValueAsString(policy);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the session policy", e);
    }
    if (text.length() >= MAX_LENGTH) {
      throw new IllegalStateException(
          "session policy is " + text.length() + " characters, STS allows < " + MAX_LENGTH);
    }
    return text;
  }

  static Matcher parseRole(String roleArn) {
    Matcher m = ROLE_ARN.matcher(roleArn == null ? "" : roleArn);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "roleArn: '"
              + roleArn
              + "' is not an IAM role ARN (arn:aws:iam::123456789012:role/name)");
    }
    return m;
  }
}
