package io.sagegate.provision;

import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.GetCallerIdentityResponse;

/**
 * The right account, or nothing: before {@code deploy} or {@code destroy} makes any change, ask
 * STS who the credentials are (GetCallerIdentity, which needs no permission) and refuse when the
 * account is not the environment's.
 */
public final class AccountCheck {

  private AccountCheck() {}

  /** Thrown when the credentials belong to another account than the environment's. */
  public static final class WrongAccountException extends RuntimeException {
    WrongAccountException(String message) {
      super(message);
    }
  }

  /** Returns the caller's ARN when its account is {@code expected}; throws otherwise. */
  public static String require(StsClient sts, String env, String expected, String verb) {
    GetCallerIdentityResponse id = sts.getCallerIdentity();
    if (!expected.equals(id.account())) {
      throw new WrongAccountException("refusing to " + verb + ": environment " + env + " is account " + expected
          + ", but the credentials in use (" + id.arn() + ") are account " + id.account()
          + "; choose the environment's credentials with --profile or environments." + env + ".profile");
    }
    return id.arn();
  }
}
