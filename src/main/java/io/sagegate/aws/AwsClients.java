package io.sagegate.aws;

import io.sagegate.config.AwsSettings;
import java.net.URI;
import java.time.Duration;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.http.async.SdkAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;
import software.amazon.awssdk.services.sts.StsAsyncClient;
import software.amazon.awssdk.services.sts.StsAsyncClientBuilder;

/**
 * The gateway's own AWS clients. The gateway's identity comes from the SDK's default credentials
 * chain (environment, the web identity token file of EKS IRSA, the container endpoint of EKS Pod
 * Identity and ECS, the instance profile); the region from {@code aws.region} or the SDK's default
 * region chain. STS is called at its regional endpoint (the SDK v2 default for a set region), or at
 * {@code aws.stsEndpoint} (VPC endpoint, FIPS, emulator).
 *
 * <p>The STS client uses Netty with more connections than the 50 default and a read timeout above
 * 30 s, so a burst of new callers does not queue behind the pool.
 */
public final class AwsClients implements AutoCloseable {

  public static final int STS_MAX_CONCURRENCY = 200;
  public static final Duration STS_READ_TIMEOUT = Duration.ofSeconds(45);
  public static final Duration STS_CONNECT_TIMEOUT = Duration.ofSeconds(5);

  private final Region region;
  private final AwsCredentialsProvider gatewayCredentials;
  private final SdkAsyncHttpClient http;
  private final StsAsyncClient sts;
  private final URI sagemakerRuntimeEndpoint;

  private AwsClients(AwsSettings settings, AwsCredentialsProvider gatewayCredentials) {
    this.region =
        settings.region() != null
            ? Region.of(settings.region())
            : DefaultAwsRegionProviderChain.builder().build().getRegion();
    this.gatewayCredentials = gatewayCredentials;
    this.http =
        NettyNioAsyncHttpClient.builder()
            .maxConcurrency(STS_MAX_CONCURRENCY)
            .readTimeout(STS_READ_TIMEOUT)
            .connectionTimeout(STS_CONNECT_TIMEOUT)
            .build();
    StsAsyncClientBuilder builder =
        StsAsyncClient.builder()
            .region(region)
            .credentialsProvider(gatewayCredentials)
            .httpClient(http);
    if (settings.stsEndpoint() != null) {
      builder.endpointOverride(URI.create(settings.stsEndpoint()));
    }
    this.sts = builder.build();
    this.sagemakerRuntimeEndpoint =
        settings.sagemakerRuntimeEndpoint() != null
            ? URI.create(settings.sagemakerRuntimeEndpoint())
            : defaultRuntimeEndpoint(region);
  }

  /** Clients under the default credentials chain ({@link #defaultCredentials()}). */
  public static AwsClients create(AwsSettings settings) {
    return new AwsClients(settings, defaultCredentials());
  }

  /**
   * The gateway's own credentials from the SDK's default chain (environment, IRSA/Pod Identity,
   * container, instance), refreshed ahead of expiry on the SDK's own background thread: the STS
   * client asks for them on the event loop (an AssumeRole starts there), and a refresh in the
   * caller's thread would block it for the length of a call to STS or the instance metadata service
   * (with IRSA, about hourly). Closed with the clients.
   */
  public static DefaultCredentialsProvider defaultCredentials() {
    return DefaultCredentialsProvider.builder().asyncCredentialUpdateEnabled(true).build();
  }

  /** Clients under the given gateway credentials (tests, emulators). */
  public static AwsClients create(AwsSettings settings, AwsCredentialsProvider gatewayCredentials) {
    return new AwsClients(settings, gatewayCredentials);
  }

  static URI defaultRuntimeEndpoint(Region region) {
    String suffix = region.id().startsWith("cn-") ? "amazonaws.com.cn" : "amazonaws.com";
    return URI.create("https://runtime.sagemaker." + region.id() + "." + suffix);
  }

  public Region region() {
    return region;
  }

  public StsAsyncClient sts() {
    return sts;
  }

  public AwsCredentialsProvider gatewayCredentials() {
    return gatewayCredentials;
  }

  /**
   * Where SageMaker Runtime is called: the regional endpoint or {@code
   * aws.sagemakerRuntimeEndpoint}.
   */
  public URI sagemakerRuntimeEndpoint() {
    return sagemakerRuntimeEndpoint;
  }

  @Override
  public void close() {
    sts.close();
    http.close();
    if (gatewayCredentials instanceof DefaultCredentialsProvider own) {
      own.close(); // stops its refresh thread; a provider handed in belongs to the caller
    }
  }
}
