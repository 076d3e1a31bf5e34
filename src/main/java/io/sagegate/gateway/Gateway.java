package io.sagegate.gateway;

import io.sagegate.audit.AuditRecord;
import io.sagegate.audit.AuditSink;
import io.sagegate.auth.Authenticator;
import io.sagegate.authz.Authorizer;
import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendFactory;
import io.sagegate.config.GatewayConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.config.ServerSettings;
import io.sagegate.credentials.CredentialsProvider;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.stage.AccessControl;
import io.sagegate.gateway.stage.Authentication;
import io.sagegate.gateway.stage.BodyReader;
import io.sagegate.gateway.stage.CredentialsStage;
import io.sagegate.gateway.stage.ErrorResponder;
import io.sagegate.gateway.stage.HeaderValidation;
import io.sagegate.gateway.stage.Invoke;
import io.sagegate.gateway.stage.OperationResolver;
import io.sagegate.gateway.stage.RequestTracking;
import io.sagegate.metrics.GatewayMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.TooLongFrameException;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway: a traffic server speaking the SageMaker Runtime wire API, and a management server
 * apart from it. The request pipeline is assembled here, in one place, in the order a request
 * flows; each stage is one small class in {@code gateway.stage}.
 */
public final class Gateway {

  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

  /** What the gateway is built from; provisioning code is never among it. */
  public record Components(
      Authenticator authenticator,
      Function<List<RuleConfig>, Authorizer> authorizers,
      BackendFactory backends,
      CredentialsProvider credentials,
      AuditSink audit,
      PrometheusMeterRegistry registry) {}

  private final Vertx vertx;
  private final Components components;
  private final GatewayMetrics metrics;
  private final RequestTracking tracking;
  private final AtomicReference<GatewayState> state = new AtomicReference<>();
  private final List<HttpServer> traffic = new java.util.concurrent.CopyOnWriteArrayList<>();
  private volatile String trafficDeployment;
  private HttpServer management;

  private Gateway(Vertx vertx, GatewayConfig config, Components components) {
    this.vertx = vertx;
    this.components = components;
    this.metrics = new GatewayMetrics(components.registry());
    ServerSettings server = config.server();
    this.tracking = new RequestTracking(components.audit(), metrics, state::get,
        TrustedProxies.of(server.trustedProxies()), server.proxyProtocol());
    if (server.proxyProtocol()) {
      LOG.info("Traffic connections must start with a PROXY protocol header; it names the peer");
    }
    if (!server.trustedProxies().isEmpty()) {
      LOG.info("Client addresses taken from X-Forwarded-For when the peer is in {}",
          server.trustedProxies());
    }
    state.set(GatewayState.build(config, components.authorizers(), components.backends(), null));
    registerHealthGauges(config);
  }

  /**
   * {@code sagegate_backend_healthy{endpoint}}: 1 while the endpoint's backend passes its health
   * check ({@code /ping} for containers), 0 when it fails; NaN once the endpoint is removed.
   */
  private void registerHealthGauges(GatewayConfig config) {
    for (var endpoint : config.endpoints()) {
      String key = GatewayConfig.key(endpoint.name());
      io.micrometer.core.instrument.Gauge.builder("sagegate.backend.healthy", state, s -> {
            Backend backend = s.get().backends().get(key);
            return backend == null ? Double.NaN : backend.healthy() ? 1 : 0;
          })
          .description("Whether the endpoint's backend passes its health check")
          .tag("endpoint", endpoint.name())
          .strongReference(true)
          .register(components.registry());
    }
  }

  /**
   * Starts both servers; the future completes once both listen. A configuration whose backends
   * cannot be built fails the future (rather than throwing), so the caller's cleanup runs.
   */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, Components components) {
    Gateway gateway;
    try {
      gateway = new Gateway(vertx, config, components);
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
    // A listener that cannot bind (port in use) leaves nothing running: the backends built for
    // the first snapshot are closed before the failure is reported.
    return gateway.listen(config.server()).map(gateway)
        .recover(err -> gateway.closeBackends().transform(ignored -> Future.failedFuture(err)));
  }

  /**
   * The request pipeline, in order. Each stage either calls {@code next()} or fails the request;
   * every failure goes to the one ErrorResponder.
   */
  Pipeline pipeline(ServerSettings server) {
    return new Pipeline(List.of(
        // 1. Request id, audit record and metrics open here and close when the response ends (or
        //    the caller goes), so every request below, failed or not, is recorded exactly once.
        //    Stages 2-5 read no body: one that waits on I/O holds it back (Exchange.holdBody).
        tracking,
        // 2. Which operation and endpoint name: strict, on the raw path. No I/O, so it runs
        //    before authentication and answers 404/405/400 without looking at the token.
        new OperationResolver(),
        // 3. Who is calling: bearer token verified (async unless cached; the body is held meanwhile).
        new Authentication(components.authenticator()),
        // 4. SageMaker headers checked; before the decision, which may match on targets.
        new HeaderValidation(),
        // 5. Endpoint resolved and the rules decide; unknown and forbidden answer alike.
        new AccessControl(),
        // 6. Only an allowed call has its body read, bounded by the size limit.
        new BodyReader(server.maxBodyBytes()),
        // 7. Credentials for this caller and endpoint (STS on the AWS path), after the body so
        //    no STS call is spent on a request that is then refused.
        new CredentialsStage(components.credentials()),
        // 8. The backend answers; the response is relayed (streamed where asked).
        new Invoke()),
        new ErrorResponder(metrics));
  }

  private Future<Void> listen(ServerSettings server) {
    // One traffic listener per event loop, as instances of one deployment: a server created
    // outside a verticle would serve every connection on a single loop, whatever the number of
    // cores. Instances of one deployment share their port (port 0 too), and Vert.x spreads
    // connections over them.
    HttpServerOptions options = new HttpServerOptions()
        .setHost(server.host())
        .setPort(server.port())
        .setMaxHeaderSize(server.maxHeaderBytes())
        .setMaxInitialLineLength(8192)
        .setIdleTimeout((int) server.idleTimeout().toSeconds())
        .setCompressionSupported(false)
        .setUseProxyProtocol(server.proxyProtocol());
    Future<String> trafficFuture = vertx.deployVerticle(() -> new io.vertx.core.VerticleBase() {
      @Override
      public Future<?> start() {
        return vertx.createHttpServer(options)
            .invalidRequestHandler(Gateway.this::invalidRequest)
            .requestHandler(pipeline(server))
            .listen()
            .onSuccess(traffic::add);
      }
    }, new io.vertx.core.DeploymentOptions().setInstances(server.effectiveEventLoops()));
    Future<HttpServer> managementFuture = trafficFuture.compose(id -> {
      trafficDeployment = id;
      return vertx.createHttpServer(new HttpServerOptions()
              .setHost(server.host()).setPort(server.managementPort()))
          .requestHandler(new ManagementRoutes(vertx, components.registry(), this::ready).router())
          .listen();
    });
    return managementFuture.onSuccess(m -> management = m)
        .onFailure(err -> {
          if (trafficDeployment != null) {
            vertx.undeploy(trafficDeployment);
          }
        })
        .mapEmpty();
  }

  /**
   * Requests the HTTP decoder could not read (headers or request line too long, bad syntax) never
   * reach the pipeline; they are answered and audited here, so they too get one record.
   */
  private void invalidRequest(HttpServerRequest request) {
    AuditRecord record = tracking.begin(request);
    Throwable cause = request.decoderResult().cause();
    GatewayException error;
    if (cause instanceof TooLongFrameException && cause.getMessage() != null
        && cause.getMessage().toLowerCase(Locale.ROOT).contains("header")) {
      error = new GatewayException(431, Errors.HEADERS_TOO_LARGE,
          "Request headers exceed the limit of " + state.get().config().server().maxHeaderBytes() + " bytes");
    } else if (cause instanceof TooLongFrameException) {
      error = new GatewayException(414, Errors.VALIDATION_ERROR, "Request line is too long");
    } else {
      error = Errors.validation("The request could not be parsed as HTTP");
    }
    record.errorType = error.errorType();
    record.errorReason = "http:invalid_request";
    request.response().putHeader("Connection", "close");
    request.response().endHandler(v -> tracking.finish(record, request));
    ErrorResponder.write(request, request.response(), error);
  }

  /** Ready once configuration and token keys are loaded. */
  public boolean ready() {
    return state.get() != null && components.authenticator().ready();
  }

  /** Applies a reloaded configuration: endpoints and rules change, listeners do not. */
  public void apply(GatewayConfig config) {
    GatewayState previous = state.get();
    GatewayState next = GatewayState.build(config, components.authorizers(), components.backends(), previous);
    state.set(next);
    registerHealthGauges(config);
    for (Backend retired : next.retiredSince(previous)) {
      retired.close();
    }
    LOG.info("Configuration applied: {} endpoints, {} rules", config.endpoints().size(), config.rules().size());
  }

  public GatewayState state() {
    return state.get();
  }

  public int port() {
    return traffic.get(0).actualPort();
  }

  public int managementPort() {
    return management.actualPort();
  }

  public Future<Void> close() {
    // Undeploying the listeners' verticles closes their servers.
    List<Future<Void>> closing = new java.util.ArrayList<>();
    if (trafficDeployment != null) {
      closing.add(vertx.undeploy(trafficDeployment));
    }
    if (management != null) {
      closing.add(management.close());
    }
    Future<Void> servers = Future.all(closing).mapEmpty();
    return servers.eventually(this::closeBackends);
  }

  private Future<Void> closeBackends() {
    return Future.all(state.get().backends().values().stream().map(Backend::close).toList())
        .mapEmpty();
  }
}
