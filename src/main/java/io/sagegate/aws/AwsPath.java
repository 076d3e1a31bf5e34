package io.sagegate.aws;

import io.micrometer.core.instrument.MeterRegistry;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.credentials.CredentialsProvider;
import io.sagegate.credentials.ScopedCredentials;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;

/**
 * The AWS path wired from a {@link GatewayConfig}: the gateway's AWS clients, the STS credentials
 * provider and the {@code sagemaker} backend factory. {@link #credentials()} serves every endpoint:
 * scoped STS sessions for {@code sagemaker} backends, {@link ScopedCredentials#NONE} for all
 * others, so the pipeline can use it unconditionally. Build it only when {@link
 * #needed(GatewayConfig)} at start, or through {@link LazyAwsPath} when a reload first needs it;
 * close it at shutdown.
 */
public final class AwsPath implements AutoCloseable {

  private final AwsClients clients;
  private final StsCredentialsProvider sts;
  private final SageMakerBackendFactory backends;

  private AwsPath(
      Vertx vertx,
      GatewayConfig config,
      MeterRegistry registry,
      AwsCredentialsProvider gatewayCredentials) {
    try {
      this.clients = AwsClients.create(config.aws(), gatewayCredentials);
    } catch (SdkClientException e) {
      throw new IllegalArgumentException(
          "aws.region: not set and the SDK found no default region (AWS_REGION, profile, instance metadata)",
          e);
    }
    this.sts = StsCredentialsProvider.create(vertx, clients, config.aws(), registry);
    this.backends = SageMakerBackendFactory.create(vertx, clients);
  }

  /**
   * Under the SDK's default credentials chain (environment, IRSA/Pod Identity, container,
   * instance).
   */
  public static AwsPath create(Vertx vertx, GatewayConfig config, MeterRegistry registry) {
    return new AwsPath(vertx, config, registry, AwsClients.defaultCredentials());
  }

  /** Under the given gateway credentials (tests, emulators). */
  public static AwsPath create(
      Vertx vertx,
      GatewayConfig config,
      MeterRegistry registry,
      AwsCredentialsProvider gatewayCredentials) {
    return new AwsPath(vertx, config, registry, gatewayCredentials);
  }

  /** Whether any endpoint is served by SageMaker Runtime. */
  public static boolean needed(GatewayConfig config) {
    return config.endpoints().stream()
        .anyMatch(e -> BackendConfig.SAGEMAKER.equals(e.backend().type()));
  }

  /** STS sessions for sagemaker endpoints, NONE for the others. */
  public CredentialsProvider credentials() {
    return (caller, endpoint, action, decision) ->
        BackendConfig.SAGEMAKER.equals(endpoint.backend().type())
            ? sts.credentialsFor(caller, endpoint, action, decision)
            : Future.succeededFuture(ScopedCredentials.NONE);
  }

  /** The STS credentials provider (for {@code sagemaker} endpoints only). */
  public StsCredentialsProvider sts() {
    return sts;
  }

  /** The factory for backend type {@code sagemaker}. */
  public SageMakerBackendFactory backends() {
    return backends;
  }

  public AwsClients clients() {
    return clients;
  }

  @Override
  public void close() {
    backends.close();
    clients.close();
  }
}
