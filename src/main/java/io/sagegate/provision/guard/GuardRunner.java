package io.sagegate.provision.guard;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import org.jspecify.annotations.Nullable;

/**
 * Runs the guard's handler locally on one recorded CloudTrail event (an EventBridge event as the
 * Lambda receives it), against a chosen SageMaker endpoint URL (an emulator, or a sandbox account),
 * so an operator can try a rule before deploying it. Used by {@code sagegate provision guard-test},
 * and runnable from the guard jar alone: {@code SAGEGATE_APPROVED_PAIRS='[...]' java -cp
 * sagegate-guard.jar io.sagegate.provision.guard.GuardRunner EVENT.json [ENDPOINT_URL [REGION]]}.
 * Credentials come from the SDK's default chain. Note that the handler really remediates: an
 * unapproved deployment at that endpoint is removed.
 */
public final class GuardRunner {

  private GuardRunner() {}

  /**
   * Feeds {@code event} to a guard with {@code approved}; returns the verdict (also written to
   * {@code audit}).
   */
  public static GuardHandler.Verdict run(
      Path event,
      ApprovedPairs approved,
      @Nullable URI endpointUrl,
      String region,
      PrintStream audit)
      throws IOException {
    byte[] bytes = Files.readAllBytes(event);
    try (GuardSageMaker sm = GuardSageMaker.create(endpointUrl, region, null)) {
      GuardHandler.Verdict v = new GuardHandler(sm, approved, audit).handle(bytes);
      audit.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(v));
      audit.flush();
      return v;
    }
  }

  public static void main(String[] args) throws IOException {
    if (args.length < 1 || args.length > 3) {
      System.err.println(
          "usage: GuardRunner EVENT.json [ENDPOINT_URL [REGION]]  (approved pairs in $"
              + ApprovedPairs.ENV_VAR
              + ")");
      System.exit(2);
    }
    ApprovedPairs approved;
    try {
      approved = ApprovedPairs.fromJson(System.getenv(ApprovedPairs.ENV_VAR));
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(2);
      return;
    }
    GuardHandler.Verdict v =
        run(
            Path.of(args[0]),
            approved,
            args.length > 1 ? URI.create(args[1]) : null,
            args.length > 2 ? args[2] : "us-east-1",
            System.out);
    System.exit("ignored".equals(v.decision()) || "approved".equals(v.decision()) ? 0 : 1);
  }
}
