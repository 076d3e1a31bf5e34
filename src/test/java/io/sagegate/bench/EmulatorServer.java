package io.sagegate.bench;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

import io.sagegate.testsupport.Bounds;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.sagegate.testsupport.aws.SageMakerEmulator.Role;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The STS + SageMaker Runtime emulator as a standalone process, for {@code bench/aws-run.sh}. It
 * trusts the gateway credentials read from {@code AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY}
 * (generated per run by the script), defines role {@value #ROLE} (sagemaker:InvokeEndpoint* on
 * every endpoint of the account, ExternalId {@value #EXTERNAL_ID}) and endpoint {@value #ENDPOINT}
 * answering a small JSON body, listens on 127.0.0.1 on a free port and prints {@code PORT=<n>} on
 * stdout. Requests are not recorded (a load run would fill the heap).
 *
 * <p>Usage: {@code EmulatorServer [--no-sagemaker-auth]}. With {@code --no-sagemaker-auth}
 * SageMaker Runtime calls skip SigV4/IAM checks ({@link SageMakerEmulator#checkSageMakerAuth}) so a
 * plain nginx {@code proxy_pass} is accepted; the bench applies it to both paths alike. STS stays
 * checked. Runs until killed.
 */
public final class EmulatorServer {

  public static final String ROLE = "bench-invoke";
  public static final String EXTERNAL_ID = "sagegate-bench";
  public static final String ENDPOINT = "bench";
  public static final String ANSWER = "{\"label\":\"positive\",\"score\":0.97}";

  private EmulatorServer() {}

  public static void main(String[] args) throws Exception {
    boolean checkAuth = true;
    for (String a : args) {
      if (a.equals("--no-sagemaker-auth")) {
        checkAuth = false;
      } else {
        System.err.println(
            "unknown argument: " + a + " (usage: EmulatorServer [--no-sagemaker-auth])");
        System.exit(2);
      }
    }
    String key = System.getenv("AWS_ACCESS_KEY_ID");
    String secret = System.getenv("AWS_SECRET_ACCESS_KEY");
    if (key == null || secret == null) {
      System.err.println(
          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set (the gateway's credentials)");
      System.exit(2);
    }
    Vertx vertx = Vertx.vertx();
    SageMakerEmulator aws = start(vertx, key, secret, checkAuth);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () ->
                    Bounds.join(
                        vertx
                            .close()
                            .toCompletionStage()
                            .toCompletableFuture()
                            .orTimeout(AWAIT_SECONDS, SECONDS))));
    System.out.println("PORT=" + aws.port());
    System.out.flush();
  }

  /** Starts an emulator set up as described above; shared with {@link ClientComparison}. */
  static SageMakerEmulator start(Vertx vertx, String key, String secret, boolean checkAuth)
      throws Exception {
    SageMakerEmulator aws = SageMakerEmulator.start(vertx).await(AWAIT_SECONDS, SECONDS);
    aws.recordRequests(false).checkSageMakerAuth(checkAuth).addCredentials(key, secret);
    aws.addRole(
        Role.allowing(
            aws.roleArn(ROLE),
            key,
            EXTERNAL_ID,
            List.of("sagemaker:InvokeEndpoint*"),
            List.of("arn:aws:sagemaker:" + aws.region() + ":" + aws.accountId() + ":endpoint/*")));
    aws.endpoint(ENDPOINT).okBody(ANSWER.getBytes(StandardCharsets.UTF_8), "application/json");
    return aws;
  }
}
