package io.sagegate.aws;

import io.sagegate.backend.BackendFactory;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.CredentialsProvider;
import io.sagegate.error.Errors;
import io.vertx.core.Future;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The AWS path of a gateway that started without a {@code sagemaker} endpoint: built the first time
 * a reload adds one (from the aws settings the gateway started with), then kept for every later
 * reload until shutdown (a reload that built it and was then refused {@link #release}s it). So
 * endpoints reload live whatever their backend type, and a gateway that never serves SageMaker
 * never builds AWS clients.
 *
 * <p>{@link #backends()} builds the path (on the reload's context, before the new configuration is
 * swapped in); a failure throws, which refuses the reload and keeps the last good configuration.
 * {@link #credentials()} only reads the built path: one volatile read per request on endpoints
 * added this way.
 */
public final class LazyAwsPath implements AutoCloseable {

  private final Supplier<AwsPath> build;
  private volatile @Nullable AwsPath path;
  private boolean closed;

  /**
   * @param build makes the AWS path; called at most once successfully
   */
  public LazyAwsPath(Supplier<AwsPath> build) {
    this.build = build;
  }

  /** The path, built now if it is not yet. */
  public synchronized AwsPath get() {
    if (closed) {
      throw new IllegalStateException("the gateway is shutting down");
    }
    AwsPath p = path;
    if (p == null) {
      p = build.get();
      path = p;
    }
    return p;
  }

  /** Whether the path is built (and not released since). */
  public boolean built() {
    return path != null;
  }

  /**
   * Closes the path, if built, and forgets it, so the next endpoint that needs it builds it anew:
   * for a reload that built it and was then refused, when no endpoint that is served uses it.
   */
  public synchronized void release() {
    AwsPath p = path;
    path = null;
    if (p != null) {
      p.close();
    }
  }

  /** The {@code sagemaker} backend factory; the first endpoint it serves builds the path. */
  public BackendFactory backends() {
    return (EndpointConfig endpoint) -> get().backends().create(endpoint);
  }

  /**
   * STS sessions for {@code sagemaker} endpoints. Such an endpoint is served only once a reload has
   * built its backend, hence the path; the 503 is for a request that could arrive otherwise.
   */
  public CredentialsProvider credentials() {
    return (caller, endpoint, action, decision) -> {
      AwsPath p = path;
      return p == null
          ? Future.failedFuture(
              Errors.serviceUnavailable(
                      "Could not obtain credentials for endpoint " + endpoint.name())
                  .withAuditReason("sts:aws_path_not_built"))
          : p.sts().credentialsFor(caller, endpoint, action, decision);
    };
  }

  @Override
  public synchronized void close() {
    closed = true;
    if (path != null) {
      path.close();
    }
  }
}
