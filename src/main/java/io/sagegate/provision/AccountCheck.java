package io.sagegate.provision;

import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.GetCallerIdentityResponse;

/**
 * The right account, or nothing: before {@code deploy} or {@code destroy} makes any change, ask STS
 * who the credentials are (GetCallerIdentity, which needs no permission) and refuse when the
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
      throw new WrongAccountException(
          "refusing to "
              + verb
              + ": environment "
              + env
              + " is account "
              + expected
              + ", but the credentials in use ("
              + id.arn()
              + ") are account "
              + id.account()
              + "; choose the environment's credentials with --profile or environments."
              + env
              + ".profile");
    }
    return id.arn();
  }

  /**
   * The IAM identity behind a caller ARN: {@code arn:aws:sts::A:assumed-role/R/session} is role
   * {@code arn:aws:iam::A:role/R} (as CloudTrail's session issuer names it, paths aside); other
   * ARNs are themselves.
   */
  public static String roleOf(String callerArn) {
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("^arn:(aws[a-z-]*):sts::(\\d{12}):assumed-role/([^/]+)/.*$")
            .matcher(callerArn);
    return m.matches()
        ? "arn:" + m.group(1) + ":iam::" + m.group(2) + ":role/" + m.group(3)
        : callerArn;
  }
}
