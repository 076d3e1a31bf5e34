package io.sagegate.aws;

import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendFactory;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import java.net.URI;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.regions.Region;

/**
 * Builds {@link SageMakerBackend}s (backend type {@code sagemaker}). All of them share one Vert.x
 * HTTP client: SageMaker Runtime is one host per region, so one keep-alive pool of {@value
 * #MAX_CONNECTIONS} connections serves every endpoint. Close the factory at shutdown.
 */
public final class SageMakerBackendFactory implements BackendFactory, AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(SageMakerBackendFactory.class);

  public static final int MAX_CONNECTIONS = 500;

  /** Idle pooled connections are kept this long (SageMaker Runtime keeps them open longer). */
  public static final Duration KEEP_ALIVE = Duration.ofSeconds(90);

  private final Vertx vertx;
  private final URI runtime;
  private final Region region;
  private final HttpClient client;

  /**
   * The bearer tokens of the OpenAI-compatible path, cached with their sessions, shared by all
   * endpoints.
   */
  private final BearerTokens tokens = new BearerTokens(java.time.Clock.systemUTC());

  /**
   * @param runtime SageMaker Runtime's base URL; {@code http} is allowed (emulators)
   */
  public SageMakerBackendFactory(Vertx vertx, URI runtime, Region region) {
    if (!"https".equals(runtime.getScheme()) && !"http".equals(runtime.getScheme())) {
      throw new IllegalArgumentException(
          "aws.sagemakerRuntimeEndpoint: '" + runtime + "' is not an http(s) URL");
    }
    this.vertx = vertx;
    this.runtime = runtime;
    this.region = region;
    HttpClientOptions options =
        new HttpClientOptions()
            .setKeepAlive(true)
            .setKeepAliveTimeout((int) KEEP_ALIVE.toSeconds())
            .setDecompressionSupported(false)
            .setTcpNoDelay(true);
    this.client =
        vertx
            .httpClientBuilder()
            .with(options)
            .with(new PoolOptions().setHttp1MaxSize(MAX_CONNECTIONS))
            // A broken answer fails the call it belongs to, which logs it naming the endpoint;
            // without
            // a handler here Vert.x would log it again, at ERROR, naming nothing.
            .withConnectHandler(
                conn ->
                    conn.exceptionHandler(
                        e ->
                            LOG.debug(
                                "SageMaker Runtime connection to {}: {}", runtime, e.toString())))
            .build();
  }

  /** From the gateway's clients: the runtime URL and region resolved from {@code aws} settings. */
  public static SageMakerBackendFactory create(Vertx vertx, AwsClients clients) {
    return new SageMakerBackendFactory(vertx, clients.sagemakerRuntimeEndpoint(), clients.region());
  }

  @Override
  public Backend create(EndpointConfig endpoint) {
    if (!BackendConfig.SAGEMAKER.equals(endpoint.backend().type())) {
      throw new IllegalArgumentException(
          "endpoints."
              + endpoint.name()
              + ".backend.type: '"
              + endpoint.backend().type()
              + "' is not served by the sagemaker backend factory");
    }
    return new SageMakerBackend(vertx, client, runtime, region, endpoint, tokens);
  }

  @Override
  public void close() {
    client.close();
  }

  public Future<Void> closeAsync() {
    return client.close();
  }
}
