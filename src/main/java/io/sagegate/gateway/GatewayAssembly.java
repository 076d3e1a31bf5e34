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
import io.sagegate.config.EndpointConfig;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The composition root: builds every part the gateway runs with from one configuration, the
 * same way for {@code serve} and for the integration tests. Provisioning is not part of it.
 */
public final class GatewayAssembly {

  private final Gateway gateway;
  private final JwtAuthenticator authenticator;
  private final Map<String, DemoModelServer> demos;

  private GatewayAssembly(Gateway gateway, JwtAuthenticator authenticator, Map<String, DemoModelServer> demos) {
    this.gateway = gateway;
    this.authenticator = authenticator;
    this.demos = demos;
  }

  public static Future<GatewayAssembly> start(
      Vertx vertx, GatewayConfig config, PrometheusMeterRegistry registry, AuditSink audit, Path devKeyDir) {
    return startDemos(vertx, config).compose(demos ->
        JwtAuthenticator.start(vertx, config.auth(), registry, devKeyDir).compose(authenticator -> {
          ContainerBackendFactory containers = new ContainerBackendFactory(vertx, endpoint -> {
            DemoModelServer demo = demos.get(GatewayConfig.key(endpoint.name()));
            if (demo == null) {
              throw new IllegalArgumentException("endpoints[" + endpoint.name()
                  + "].backend.type: demo endpoints are started with the gateway; restart to add one");
            }
            return demo.url();
          });
          BackendFactory backends = Backends.byType(Map.of(
              BackendConfig.CONTAINER, containers,
              BackendConfig.DEMO, containers));
          CredentialsProvider credentials = new CredentialsByBackend(Map.of());
          Gateway.Components components = new Gateway.Components(
              authenticator, rules -> new PolicyEngine(rules)::decide, backends, credentials, audit, registry);
          return Gateway.start(vertx, config, components)
              .map(gateway -> new GatewayAssembly(gateway, authenticator, demos))
              .onFailure(err -> {
                authenticator.close();
                demos.values().forEach(DemoModelServer::close);
              });
        }));
  }

  /**
   * One built-in demo model per demo endpoint, on a free loopback port: the container contract
   * does not tell a container which endpoint it serves, so each gets its own.
   */
  private static Future<Map<String, DemoModelServer>> startDemos(Vertx vertx, GatewayConfig config) {
    List<EndpointConfig> demoEndpoints = config.endpoints().stream()
        .filter(e -> e.backend().type().equals(BackendConfig.DEMO)).toList();
    List<Future<DemoModelServer>> started = demoEndpoints.stream()
        .map(e -> DemoModelServer.start(vertx, e.name(), "127.0.0.1", 0)).toList();
    return Future.all(started).map(all -> {
      Map<String, DemoModelServer> byKey = new HashMap<>();
      for (int i = 0; i < demoEndpoints.size(); i++) {
        byKey.put(GatewayConfig.key(demoEndpoints.get(i).name()), started.get(i).result());
      }
      return Map.copyOf(byKey);
    });
  }

  public Gateway gateway() {
    return gateway;
  }

  public Future<Void> close() {
    return gateway.close().eventually(() -> {
      authenticator.close();
      return Future.all(demos.values().stream().map(DemoModelServer::close).toList()).mapEmpty();
    });
  }
}
