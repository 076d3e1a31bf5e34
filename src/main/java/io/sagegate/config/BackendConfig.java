package io.sagegate.config;

import java.time.Duration;

/**
 * How an endpoint is served.
 *
 * <ul>
 *   <li>{@code container}: a model container speaking the SageMaker container contract at {@code
 *       url} ({@code GET /ping}, {@code POST /invocations}).
 *   <li>{@code demo}: a container backend pointed at the built-in demo model server, which the
 *       gateway starts itself.
 *   <li>{@code sagemaker}: SageMaker Runtime, under scoped STS credentials (the AWS path).
 * </ul>
 *
 * Timeouts default to SageMaker's: 60 s for the model's answer.
 */
public record BackendConfig(
    String type,
    String url,
    Duration connectTimeout,
    Duration timeout,
    int maxConnections) {

  public static final String CONTAINER = "container";
  public static final String DEMO = "demo";
  public static final String SAGEMAKER = "sagemaker";

  public BackendConfig {
    type = type == null ? CONTAINER : type;
    connectTimeout = connectTimeout == null ? Duration.ofSeconds(5) : connectTimeout;
    timeout = timeout == null ? Duration.ofSeconds(60) : timeout;
    maxConnections = maxConnections <= 0 ? 200 : maxConnections;
  }
}
