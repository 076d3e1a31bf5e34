package io.sagegate.gateway;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.audit.AuditSink;
import io.sagegate.auth.JwtAuthenticator;
import io.sagegate.authz.PolicyEngine;
import io.sagegate.aws.AwsPath;
import io.sagegate.aws.LazyAwsPath;
import io.sagegate.backend.BackendFactory;
import io.sagegate.backend.Backends;
import io.sagegate.backend.container.ContainerBackendFactory;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.GatewayConfig;
import io.sagegate.credentials.CredentialsByBackend;
import io.sagegate.credentials.CredentialsProvider;
import io.sagegate.demo.DemoModelServer;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.net.URI;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The composition root: builds every part the gateway runs with from one configuration, the same
 * way for {@code serve} and for the integration tests. Provisioning is not part of it.
 *
 * <p>Parts that only some backend types need are built when the first endpoint needs them: at start
 * if the configuration has one, else by the first reload that adds one. The AWS path (the first
 * {@code sagemaker} endpoint; {@link LazyAwsPath}) and the built-in demo model (the first {@code
 * demo} endpoint; {@link #reload}) are then kept until shutdown, unless the reload that started
 * them is refused.
 */
public final class GatewayAssembly {

  private final Vertx vertx;
  private final Gateway gateway;
  private final JwtAuthenticator authenticator;
  private final DemoModel demo;

  /** Closes the AWS path, whether built at start, by a reload, or not at all. */
  private final Runnable closeAws;

  /** The AWS path a reload builds; null when it was built at start. */
  private final @Nullable LazyAwsPath lazyAws;

  private GatewayAssembly(
      Vertx vertx,
      Gateway gateway,
      JwtAuthenticator authenticator,
      DemoModel demo,
      Runnable closeAws,
      @Nullable LazyAwsPath lazyAws) {
    this.vertx = vertx;
    this.gateway = gateway;
    this.authenticator = authenticator;
    this.demo = demo;
    this.closeAws = closeAws;
    this.lazyAws = lazyAws;
  }

  public static Future<GatewayAssembly> start(
      Vertx vertx,
      GatewayConfig config,
      PrometheusMeterRegistry registry,
      AuditSink audit,
      Path devKeyDir) {
    // One built-in demo model serves every demo endpoint, each under its own path prefix. Started
    // now when the configuration has a demo endpoint, else by the first reload that adds one.
    DemoModel demo = new DemoModel(vertx);
    Future<Void> demoFuture = DemoModel.needed(config) ? demo.start() : Future.succeededFuture();
    // The AWS path (the gateway's own AWS clients, STS, SageMaker Runtime) is built only when an
    // endpoint needs it, so the local default runs with no AWS account at all: now if the starting
    // configuration has a sagemaker endpoint, else by the first reload that adds one (from the
    // aws settings the gateway started with; ConfigWatcher has refused the reload if those cannot
    // serve it). Building the SDK clients takes seconds (class loading, thread pools, the region
    // and credentials chains), so it runs on a worker thread, never on an event loop.
    Future<AwsPath> awsFuture =
        AwsPath.needed(config)
            ? vertx.executeBlocking(() -> AwsPath.create(vertx, config, registry), false)
            : Future.succeededFuture();
    // A demo model that cannot start leaves no AWS clients behind either.
    demoFuture.onFailure(
        err ->
            awsFuture.onSuccess(
                p -> {
                  if (p != null) {
                    p.close();
                  }
                }));
    return demoFuture
        .compose(started -> awsFuture)
        .compose(
            awsNow ->
                // Keys load in the background: an identity provider that cannot be reached yet
                // leaves the
                // gateway running but not ready (/readyz says why) while the key ring retries.
                JwtAuthenticator.open(vertx, config.auth(), registry, devKeyDir)
                    .onFailure(
                        err -> {
                          if (awsNow != null) {
                            awsNow.close();
                          }
                        })
                    .compose(
                        authenticator -> {
                          ContainerBackendFactory containers =
                              new ContainerBackendFactory(vertx, demo::url);
                          Map<String, BackendFactory> factories =
                              new HashMap<>(
                                  Map.of(
                                      BackendConfig.CONTAINER, containers,
                                      BackendConfig.DEMO, containers));
                          Map<String, CredentialsProvider> providers = new HashMap<>();
                          Runnable closeAws;
                          LazyAwsPath later = null;
                          if (awsNow != null) {
                            factories.put(BackendConfig.SAGEMAKER, awsNow.backends());
                            providers.put(BackendConfig.SAGEMAKER, awsNow.credentials());
                            closeAws = awsNow::close;
                          } else {
                            later = new LazyAwsPath(() -> AwsPath.create(vertx, config, registry));
                            factories.put(BackendConfig.SAGEMAKER, later.backends());
                            providers.put(BackendConfig.SAGEMAKER, later.credentials());
                            closeAws = later::close;
                          }
                          LazyAwsPath lazyAws = later;
                          BackendFactory backends = Backends.byType(factories);
                          CredentialsProvider credentials = new CredentialsByBackend(providers);
                          Gateway.Components components =
                              new Gateway.Components(
                                  authenticator,
                                  rules -> new PolicyEngine(rules)::decide,
                                  backends,
                                  credentials,
                                  audit,
                                  registry);
                          return Gateway.start(vertx, config, components)
                              .map(
                                  gateway ->
                                      new GatewayAssembly(
                                          vertx, gateway, authenticator, demo, closeAws, lazyAws))
                              .onFailure(
                                  err -> {
                                    authenticator.close();
                                    closeAws.run();
                                  });
                        }))
        .onFailure(err -> demo.close());
  }

  public Gateway gateway() {
    return gateway;
  }

  /**
   * Applies a reloaded configuration ({@link io.sagegate.config.ConfigWatcher}'s hook): starts the
   * built-in demo model first if this is the first configuration with a {@code demo} endpoint, then
   * {@link Gateway#apply}. Fails, leaving the running configuration in place, if the demo model
   * cannot start or a backend cannot be built; what the refused reload started for itself (the demo
   * model, the AWS path) is then stopped again unless the running configuration uses it, so a
   * refused reload leaves nothing behind.
   */
  public Future<Void> reload(GatewayConfig config) {
    boolean demoBefore = demo.running();
    // The AWS path a reload builds, while it is not built yet; else null.
    LazyAwsPath unbuilt = lazyAws == null || lazyAws.built() ? null : lazyAws;
    Future<Void> ready = DemoModel.needed(config) ? demo.start() : Future.succeededFuture();
    if (unbuilt != null && AwsPath.needed(config)) {
      // The first sagemaker endpoint: the AWS clients are built on a worker thread, not on the
      // event loop the reload runs on (it would stall every call on that loop for seconds).
      ready =
          ready.compose(
              started ->
                  vertx.executeBlocking(
                      () -> {
                        unbuilt.get();
                        return null;
                      },
                      false));
    }
    return ready
        .compose(
            started -> {
              gateway.apply(config); // a throw fails the future
              return Future.<Void>succeededFuture();
            })
        .onFailure(
            err -> {
              GatewayConfig running = gateway.state().config();
              if (!demoBefore && !DemoModel.needed(running)) {
                demo.stop();
              }
              if (unbuilt != null && !AwsPath.needed(running)) {
                vertx.executeBlocking(
                    () -> {
                      unbuilt.release();
                      return null;
                    },
                    false);
              }
            });
  }

  public Future<Void> close() {
    return gateway
        .close()
        .eventually(
            () -> {
              authenticator.close();
              // Closing the SDK clients waits for their threads to stop: never on an event loop.
              return vertx
                  .executeBlocking(
                      () -> {
                        closeAws.run();
                        return null;
                      },
                      false)
                  .eventually(demo::close);
            });
  }

  /**
   * The built-in demo model, started once by the first configuration that has a {@code demo}
   * endpoint (at start or by a reload) and kept until shutdown, or stopped again when the reload
   * that started it is refused. A start that fails is forgotten, so the next reload tries again.
   */
  private static final class DemoModel {

    private final Vertx vertx;

    /** The server once it listens; null before, and once stopped. */
    private volatile @Nullable DemoModelServer server;

    /** The start under way or done; null while the server is neither started nor starting. */
    private @Nullable Future<Void> starting;

    private boolean closed;

    DemoModel(Vertx vertx) {
      this.vertx = vertx;
    }

    static boolean needed(GatewayConfig config) {
      return config.endpoints().stream()
          .anyMatch(e -> e.backend().type().equals(BackendConfig.DEMO));
    }

    /** Starts the server unless it is started or starting; completes once it listens. */
    synchronized Future<Void> start() {
      if (closed) {
        return Future.failedFuture(new IllegalStateException("the gateway is shutting down"));
      }
      if (starting == null) {
        Future<Void> s =
            DemoModelServer.start(vertx, DemoModelServer.MODEL, "127.0.0.1", 0)
                .compose(this::started);
        starting = s;
        s.onFailure(err -> forget(s));
      }
      return starting;
    }

    private synchronized Future<Void> started(DemoModelServer s) {
      if (closed) { // the gateway closed while it was starting
        return s.close()
            .transform(
                ar ->
                    Future.failedFuture(new IllegalStateException("the gateway is shutting down")));
      }
      server = s;
      return Future.succeededFuture();
    }

    private synchronized void forget(Future<Void> failed) {
      if (starting == failed) {
        starting = null;
      }
    }

    /** Whether the server is started or starting. */
    synchronized boolean running() {
      return starting != null;
    }

    /** Stops a started server so that the next {@link #start} starts it anew. */
    synchronized Future<Void> stop() {
      DemoModelServer s = server;
      server = null;
      starting = null;
      return s == null ? Future.succeededFuture() : s.close();
    }

    /**
     * Where a demo endpoint's backend calls the demo model (the ContainerBackendFactory's hook).
     */
    URI url(EndpointConfig endpoint) {
      DemoModelServer s = server;
      if (s == null) {
        // Reloads start the demo model before they build backends, so only a caller that goes
        // around GatewayAssembly.reload (Gateway.apply directly) gets here.
        throw new IllegalArgumentException(
            "endpoints["
                + endpoint.name()
                + "].backend.type: the"
                + " built-in demo model is not running (apply reloads through GatewayAssembly.reload)");
      }
      return s.url(endpoint.name());
    }

    synchronized Future<Void> close() {
      closed = true;
      DemoModelServer s = server;
      server = null;
      return s == null ? Future.succeededFuture() : s.close();
    }
  }
}
