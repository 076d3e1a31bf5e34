package io.sagegate.authz;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sagegate.config.RuleConfig;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Every action has a name in the rule language, and every name there is an action. */
class ActionTest {

  @Test
  void theActionsAreTheRuleLanguagesActionNames() {
    assertEquals(RuleConfig.ACTIONS, Arrays.stream(Action.values()).map(Action::ruleName).toList());
  }
}
