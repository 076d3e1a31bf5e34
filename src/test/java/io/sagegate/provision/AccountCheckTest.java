package io.sagegate.provision;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The role behind STS's caller ARN, as the guard's approved callers name it. */
class AccountCheckTest {

  @Test
  void aCallersRoleIsTheSessionsIssuer() {
    assertEquals(
        "arn:aws:iam::111111111111:role/ml-platform-deployer",
        AccountCheck.roleOf(
            "arn:aws:sts::111111111111:assumed-role/ml-platform-deployer/pipeline-42"));
    assertEquals(
        "arn:aws:iam::111111111111:user/alice",
        AccountCheck.roleOf("arn:aws:iam::111111111111:user/alice"));
  }
}
