package io.sagegate.gateway;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.audit.AuditSink;
import io.sagegate.auth.JwtAuthenticator;
import io.sagegate.authz.PolicyEngine;
import io.sagegate.backend.BackendFactory;
import io.sagegate.backend.Backends;
import io.sagegate.backend.container.ContainerBackendFactory;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.credentials.CredentialsByBackend;
import io.sagegate.credentials.CredentialsProvider;
import io.sagegate.demo.DemoModelServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import io.sagegate.aws.AwsPath;
import io.sagegate.aws.LazyAwsPath;
import java.util.HashMap;
import java.util.Map;

/**
 * The composition root: builds every part the gateway runs with from one configuration, the
 * same way for {@code serve} and for the integration tests. Provisioning is not part of it.
 */
public final class GatewayAssembly {

  private final Gateway gateway;
  private final JwtAuthenticator authenticator;
  private final DemoModelServer demo;
  /** Closes the AWS path, whether built at start, by a reload, or not at all. */
  private final Runnable closeAws;

  private GatewayAssembly(Gateway gateway, JwtAuthenticator authenticator, DemoModelServer demo, Runnable closeAws) {
    this.gateway = gateway;
    this.authenticator = authenticator;
    this.demo = demo;
    this.closeAws = closeAws;
  }

  public static Future<GatewayAssembly> start(
      Vertx vertx, GatewayConfig config, PrometheusMeterRegistry registry, AuditSink audit, Path devKeyDir) {
    // One built-in demo model serves every demo endpoint, each under its own path prefix, so a
    // reload may add demo endpoints too. Started only when the configuration has one.
    boolean needsDemo = config.endpoints().stream()
        .anyMatch(e -> e.backend().type().equals(BackendConfig.DEMO));
    Future<DemoModelServer> demoFuture = needsDemo
        ? DemoModelServer.start(vertx, "sagegate-demo", "127.0.0.1", 0)
        : Future.succeededFuture();
    return demoFuture.compose(demo ->
        JwtAuthenticator.start(vertx, config.auth(), registry, devKeyDir).compose(authenticator -> {
          ContainerBackendFactory containers = new ContainerBackendFactory(vertx, endpoint -> {
            if (demo == null) {
              throw new IllegalArgumentException("endpoints[" + endpoint.name()
                  + "].backend.type: the demo model starts with the gateway only when the"
                  + " configuration it starts with has a demo endpoint; restart to add the first one");
            }
            return demo.url(endpoint.name());
          });
          Map<String, BackendFactory> factories = new HashMap<>(Map.of(
              BackendConfig.CONTAINER, containers,
              BackendConfig.DEMO, containers));
          Map<String, CredentialsProvider> providers = new HashMap<>();
          // The AWS path (the gateway's own AWS clients, STS, SageMaker Runtime) is built only
          // when an endpoint needs it, so the local default runs with no AWS account at all: now
          // if the starting configuration has a sagemaker endpoint, else by the first reload that
          // adds one (from the aws settings the gateway started with; ConfigWatcher has refused
          // the reload if those cannot serve it).
          Runnable closeAws;
          if (AwsPath.needed(config)) {
            AwsPath now = AwsPath.create(vertx, config, registry);
            factories.put(BackendConfig.SAGEMAKER, now.backends());
            providers.put(BackendConfig.SAGEMAKER, now.credentials());
            closeAws = now::close;
          } else {
            LazyAwsPath later = new LazyAwsPath(() -> AwsPath.create(vertx, config, registry));
            factories.put(BackendConfig.SAGEMAKER, later.backends());
            providers.put(BackendConfig.SAGEMAKER, later.credentials());
            closeAws = later::close;
          }
          BackendFactory backends = Backends.byType(factories);
          CredentialsProvider credentials = new CredentialsByBackend(providers);
          Gateway.Components components = new Gateway.Components(
              authenticator, rules -> new PolicyEngine(rules)::decide, backends, credentials, audit, registry);
          return Gateway.start(vertx, config, components)
              .map(gateway -> new GatewayAssembly(gateway, authenticator, demo, closeAws))
              .onFailure(err -> {
                authenticator.close();
                closeAws.run();
                if (demo != null) {
                  demo.close();
                }
              });
        }));
  }

  public Gateway gateway() {
    return gateway;
  }

  public Future<Void> close() {
    return gateway.close().eventually(() -> {
      authenticator.close();
      closeAws.run();
      return demo == null ? Future.succeededFuture() : demo.close();
    });
  }
}
