package io.sagegate.authz;

import io.sagegate.config.RuleConfig;
import java.util.Optional;

/** What a caller asks to do to an endpoint; the names used in rules. */
public enum Action {
  INVOKE(RuleConfig.INVOKE, "sagemaker:InvokeEndpoint"),
  INVOKE_STREAM(RuleConfig.INVOKE_STREAM, "sagemaker:InvokeEndpointWithResponseStream"),
  INVOKE_ASYNC(RuleConfig.INVOKE_ASYNC, "sagemaker:InvokeEndpointAsync");

  private final String ruleName;
  private final String iamAction;

  Action(String ruleName, String iamAction) {
    this.ruleName = ruleName;
    this.iamAction = iamAction;
  }

  public String ruleName() {
    return ruleName;
  }

  /**
   * The IAM action SageMaker checks. Note: IAM authorizes the response-stream API under {@code
   * sagemaker:InvokeEndpoint} too; this name is for display.
   */
  public String iamAction() {
    return iamAction;
  }

  public static Optional<Action> fromRuleName(String name) {
    for (Action a : values()) {
      if (a.ruleName.equals(name)) {
        return Optional.of(a);
      }
    }
    return Optional.empty();
  }

  @Override
  public String toString() {
    return ruleName;
  }
}
