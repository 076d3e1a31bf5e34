package io.sagegate.gateway;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.PrematureChannelClosureException;
import io.netty.handler.codec.TooLongFrameException;
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
import io.sagegate.gateway.stage.AuditGuard;
import io.sagegate.gateway.stage.Authentication;
import io.sagegate.gateway.stage.BodyReader;
import io.sagegate.gateway.stage.ConcurrencyControl;
import io.sagegate.gateway.stage.CredentialsStage;
import io.sagegate.gateway.stage.ErrorResponder;
import io.sagegate.gateway.stage.HeaderValidation;
import io.sagegate.gateway.stage.InFlightAdmission;
import io.sagegate.gateway.stage.Invoke;
import io.sagegate.gateway.stage.OpenAiBody;
import io.sagegate.gateway.stage.OpenAiEndpoint;
import io.sagegate.gateway.stage.OperationResolver;
import io.sagegate.gateway.stage.QuotaControl;
import io.sagegate.gateway.stage.RequestTracking;
import io.sagegate.metrics.GatewayMetrics;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway: a traffic server speaking the SageMaker Runtime wire API, and a management server
 * apart from it. The request pipeline is assembled here, in one place, in the order a request
 * flows; each stage is one small class in {@code gateway.stage}.
 */
public final class Gateway {

  private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

  /** How often a drain looks whether the calls in flight have ended. */
  private static final long DRAIN_POLL_MS = 50;

  /** How long calls ended at the drain deadline get to close before the listeners force it. */
  private static final long FORCE_CLOSE_GRACE_MS = 2_000;

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
  private final InFlightCalls calls = new InFlightCalls(() -> current(state));
  private final Readiness readiness = new Readiness();
  private volatile boolean draining;

  /** Admission control (issue 18): gateway-wide caps and per-endpoint concurrency limits. */
  private final io.sagegate.limits.LimitMetrics limitMetrics;

  private final io.sagegate.limits.InFlightCap inFlight;
  private final io.sagegate.limits.InFlightCap connections;
  private final io.sagegate.limits.ConcurrencyLimits concurrency =
      new io.sagegate.limits.ConcurrencyLimits();
  private final io.sagegate.limits.Quotas quotas;
  private final List<HttpServer> traffic = new java.util.concurrent.CopyOnWriteArrayList<>();

  /** Set once the listeners are deployed, and the management server once it listens. */
  private volatile @Nullable String trafficDeployment;

  private final boolean refuseUnaudited;
  private @Nullable HttpServer management;

  private Gateway(Vertx vertx, GatewayConfig config, Components components) {
    this.vertx = vertx;
    this.components = components;
    this.metrics = new GatewayMetrics(components.registry());
    ServerSettings server = config.server();
    this.limitMetrics = new io.sagegate.limits.LimitMetrics(components.registry());
    this.inFlight = new io.sagegate.limits.InFlightCap(config.admission().maxInFlight());
    this.connections = new io.sagegate.limits.InFlightCap(config.admission().maxConnections());
    this.quotas = new io.sagegate.limits.Quotas(vertx, config.admission(), limitMetrics);
    this.tracking =
        new RequestTracking(
            components.audit(),
            metrics,
            calls,
            TrustedProxies.of(server.trustedProxies()),
            server.proxyProtocol());
    this.refuseUnaudited = config.audit().refuseOnFailure();
    if (server.proxyProtocol()) {
      LOG.info("Traffic connections must start with a PROXY protocol header; it names the peer");
    }
    if (!server.trustedProxies().isEmpty()) {
      LOG.info(
          "Client addresses taken from X-Forwarded-For when the peer is in {}",
          server.trustedProxies());
    }
    state.set(GatewayState.build(config, components.authorizers(), components.backends(), null));
    registerHealthGauges(config);
    registerLifecycleMeters();
    // What /readyz reports, in this order; more parts add themselves through readiness().
    readiness.add(() -> draining ? "draining: the gateway is shutting down" : null);
    readiness.add(() -> state.get() == null ? "configuration not loaded" : null);
    readiness.add(() -> components.authenticator().notReadyReason());
    readiness.add(() -> components.audit().healthy() ? null : "audit sink cannot write records");
  }

  /**
   * {@code sagegate_draining} (1 while shutting down), {@code sagegate_audit_sink_healthy} (0 while
   * audit records cannot be written) and {@code sagegate_audit_records_failed_total}.
   */
  private void registerLifecycleMeters() {
    var registry = components.registry();
    io.micrometer.core.instrument.Gauge.builder("sagegate.draining", this, g -> g.draining ? 1 : 0)
        .description("1 while the gateway drains calls in flight before it exits, else 0")
        .register(registry);
    AuditSink audit = components.audit();
    io.micrometer.core.instrument.Gauge.builder(
            "sagegate.audit.sink.healthy", audit, a -> a.healthy() ? 1 : 0)
        .description("1 while audit records are written, 0 while the audit sink cannot write")
        .register(registry);
    io.micrometer.core.instrument.FunctionCounter.builder(
            "sagegate.audit.records.failed", audit, a -> (double) a.failedRecords())
        .description(
            "Audit records that could not be written (closed output, full disk, unwritable file)")
        .register(registry);
  }

  /**
   * {@code sagegate_backend_healthy{endpoint}}: 1 while the endpoint's backend passes its health
   * check ({@code /ping} for containers), 0 when it fails; NaN once the endpoint is removed.
   */
  private void registerHealthGauges(GatewayConfig config) {
    for (var endpoint : config.endpoints()) {
      String key = GatewayConfig.key(endpoint.name());
      io.micrometer.core.instrument.Gauge.builder(
              "sagegate.backend.healthy",
              state,
              s -> {
                Backend backend = current(s).backends().get(key);
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
    return gateway
        .listen(config.server())
        .map(gateway)
        .recover(err -> gateway.closeBackends().transform(ignored -> Future.failedFuture(err)));
  }

  /**
   * The request pipeline, in order. Each stage either calls {@code next()} or fails the request;
   * every failure goes to the one ErrorResponder.
   */
  Pipeline pipeline(ServerSettings server) {
    return new Pipeline(
        List.of(
            // 1. Request id, audit record and metrics open here and close when the response ends
            // (or
            //    the caller goes), so every request below, failed or not, is recorded exactly once.
            //    Stages 2-5 read no body: one that waits on I/O holds it back (Exchange.holdBody).
            tracking,
            //    With audit.onFailure: refuse, nothing is served while the audit sink cannot write
            //    (the refusal itself is recorded, and is the probe that ends the refusal).
            new AuditGuard(components.audit(), refuseUnaudited),
            // 1b. The gateway-wide cap on calls in flight: after tracking, so a refusal is
            // recorded;
            //     before everything else, so an overload costs as little as possible.
            new InFlightAdmission(inFlight, limitMetrics),
            // 2. Which operation and endpoint name: strict, on the raw path. No I/O, so it runs
            //    before authentication and answers 404/405/400 without looking at the token.
            new OperationResolver(),
            // 3. Who is calling: bearer token verified (async unless cached; the body is held
            // meanwhile).
            new Authentication(components.authenticator()),
            // 4. SageMaker headers checked; before the decision, which may match on targets.
            new HeaderValidation(),
            // 4a. OpenAI-compatible chat route only: the body read and checked before the decision,
            //     because "stream": true makes the action invoke-stream (the caller is known by
            // now).
            new OpenAiBody(server.maxBodyBytes()),
            // 5. Endpoint resolved and the rules decide; unknown and forbidden answer alike.
            new AccessControl(),
            // 5a. OpenAI-compatible routes only: an endpoint not served there is a 404, and the
            //     models list is answered from configuration (no body, no credentials, no backend).
            new OpenAiEndpoint(),
            // 5b. The endpoint's (and inference component's) maxConcurrency: it needs the endpoint,
            //     and an allowed call only; before the body is read and before any STS or backend
            // call.
            new ConcurrencyControl(concurrency, limitMetrics),
            // 5c. The shared quotas (limits): after the concurrency cap, so a call refused there is
            //     not charged; one store round trip (the body is held meanwhile); before the body.
            new QuotaControl(quotas, limitMetrics),
            // 6. Only an allowed call has its body read, bounded by the size limit.
            new BodyReader(server.maxBodyBytes()),
            // 7. Credentials for this caller and endpoint (STS on the AWS path), after the body so
            //    no STS call is spent on a request that is then refused.
            new CredentialsStage(components.credentials()),
            // 8. The backend answers; the response is relayed (streamed where asked).
            new Invoke(metrics)),
        new ErrorResponder(metrics));
  }

  private Future<Void> listen(ServerSettings server) {
    // One traffic listener per event loop, as instances of one deployment: a server created
    // outside a verticle would serve every connection on a single loop, whatever the number of
    // cores. Instances of one deployment share their port (port 0 too), and Vert.x spreads
    // connections over them.
    HttpServerOptions options =
        new HttpServerOptions()
            .setHost(server.host())
            .setPort(server.port())
            .setMaxHeaderSize(server.maxHeaderBytes())
            .setMaxInitialLineLength(8192)
            // In milliseconds: whole seconds made a sub-second idleTimeout 0, which turns it off.
            .setIdleTimeout((int) Math.min(Integer.MAX_VALUE, server.idleTimeout().toMillis()))
            .setIdleTimeoutUnit(java.util.concurrent.TimeUnit.MILLISECONDS)
            .setCompressionSupported(false)
            // SageMaker Runtime is HTTP/1.1; HTTP/2 cleartext (prior knowledge or upgrade) only
            // when configured. Vert.x's default would serve it.
            .setHttp2ClearTextEnabled(server.http2())
            .setUseProxyProtocol(server.proxyProtocol());
    HttpGuard.Events guardEvents = new GuardEvents(server);
    Future<String> trafficFuture =
        vertx.deployVerticle(
            () ->
                new io.vertx.core.VerticleBase() {
                  @Override
                  public Future<?> start() {
                    return vertx
                        .createHttpServer(options)
                        // Header timeout, bad versions, empty header names, malformed chunked
                        // bodies:
                        // Vert.x has no hook for these, HttpGuard does them around Netty's decoder.
                        // Past
                        // admission.maxConnections a connection is closed unread instead.
                        .connectionHandler(
                            connection -> {
                              if (connectionOpened(connection)) {
                                HttpGuard.install(connection, server.headerTimeout(), guardEvents);
                              }
                            })
                        .invalidRequestHandler(Gateway.this::invalidRequest)
                        .requestHandler(pipeline(server))
                        .listen()
                        .onSuccess(traffic::add);
                  }
                },
            new io.vertx.core.DeploymentOptions().setInstances(server.effectiveEventLoops()));
    trafficFuture =
        trafficFuture.recover(
            err ->
                Future.failedFuture(
                    listenFailure("traffic", "server.port, --port", server.port(), err)));
    Future<HttpServer> managementFuture =
        trafficFuture.compose(
            id -> {
              trafficDeployment = id;
              return vertx
                  .createHttpServer(
                      new HttpServerOptions()
                          .setHost(server.host())
                          .setPort(server.managementPort()))
                  .requestHandler(
                      new ManagementRoutes(vertx, components.registry(), readiness).router())
                  .listen()
                  .recover(
                      err ->
                          Future.failedFuture(
                              listenFailure(
                                  "management",
                                  "server.managementPort, --management-port",
                                  server.managementPort(),
                                  err)));
            });
    return managementFuture
        .onSuccess(m -> management = m)
        .onFailure(
            err -> {
              if (trafficDeployment != null) {
                vertx.undeploy(trafficDeployment);
              }
            })
        .mapEmpty();
  }

  /** A listener that cannot bind, named: which listener, which port, and where it is set. */
  static IllegalStateException listenFailure(
      String listener, String setting, int port, Throwable err) {
    String text = String.valueOf(err.getMessage());
    boolean inUse = err instanceof java.net.BindException || text.contains("in use");
    String message =
        inUse
            ? "the "
                + listener
                + " listener cannot listen on port "
                + port
                + ": the port is already in use ("
                + setting
                + ")"
            : "the "
                + listener
                + " listener cannot listen on port "
                + port
                + " ("
                + setting
                + "): "
                + text;
    return new IllegalStateException(message, err);
  }

  /**
   * The gateway-wide cap on open traffic connections ({@code admission.maxConnections}): a
   * connection past it is closed at once, unread, rather than left to queue into timeouts.
   *
   * @return whether the connection is served
   */
  private boolean connectionOpened(io.vertx.core.http.HttpConnection connection) {
    if (connections.max() <= 0) {
      return true;
    }
    if (!connections.tryTake()) {
      limitMetrics.refused(io.sagegate.limits.LimitMetrics.MAX_CONNECTIONS, GatewayMetrics.UNKNOWN);
      connection.close();
      return false;
    }
    connection.closeHandler(v -> connections.release());
    return true;
  }

  /**
   * Requests the HTTP decoder could not read (headers or request line too long, bad syntax, an HTTP
   * version other than 1.x, an empty header name) never reach the pipeline; they are answered and
   * audited here, so they too get one record. A caller that hung up in the middle of its headers is
   * not answered (nobody is there), and its record says it left.
   */
  private void invalidRequest(HttpServerRequest request) {
    AuditRecord record = tracking.begin(request);
    Throwable cause = request.decoderResult().cause();
    GatewayException error;
    if (cause instanceof PrematureChannelClosureException) {
      tracking.callerLeft(record);
      record.bytes(request.bytesRead(), 0); // nothing was answered
      tracking.finish(record);
      return;
    } else if (cause instanceof GatewayException marked) {
      error = marked; // HttpGuard's: a bad version or an empty header name
    } else if (cause instanceof TooLongFrameException
        && cause.getMessage() != null
        && cause.getMessage().toLowerCase(Locale.ROOT).contains("header")) {
      error =
          new GatewayException(
              431,
              Errors.HEADERS_TOO_LARGE,
              "Request headers exceed the limit of "
                  + current(state).config().server().maxHeaderBytes()
                  + " bytes");
    } else if (cause instanceof TooLongFrameException) {
      error = new GatewayException(414, Errors.VALIDATION_ERROR, "Request line is too long");
    } else {
      error = Errors.validation("The request could not be parsed as HTTP");
    }
    record.error(
        error.errorType(),
        error.auditReason() == null ? "http:invalid_request" : error.auditReason());
    request.response().putHeader("Connection", "close");
    request.response().endHandler(v -> tracking.finish(record, request));
    ErrorResponder.write(request, request.response(), error);
  }

  /** Answers and audits what HttpGuard reports from below Vert.x. */
  private final class GuardEvents implements HttpGuard.Events {
    private final ServerSettings server;

    GuardEvents(ServerSettings server) {
      this.server = server;
    }

    @Override
    public HttpGuard.RawAnswer headTimedOut(HttpConnection connection) {
      AuditRecord record = tracking.begin(connection);
      GatewayException error =
          new GatewayException(
                  408,
                  Errors.REQUEST_TIMEOUT,
                  "The request headers did not arrive within "
                      + server.headerTimeout().toMillis()
                      + " ms")
              .withAuditReason("http:header_timeout");
      record.status(error.status());
      record.error(error.errorType(), error.auditReason());
      byte[] body = ErrorResponder.json(error).getBytes(java.nio.charset.StandardCharsets.UTF_8);
      String head =
          "HTTP/1.1 408 Request Timeout\r\n"
              + "Content-Type: application/json\r\n"
              + io.sagegate.backend.SageMakerHeaders.ERROR_TYPE
              + ": "
              + error.errorType()
              + "\r\n"
              + io.sagegate.backend.SageMakerHeaders.REQUEST_ID
              + ": "
              + record.requestId()
              + "\r\n"
              + "Content-Length: "
              + body.length
              + "\r\n"
              + "Connection: close\r\n\r\n";
      byte[] headBytes = head.getBytes(java.nio.charset.StandardCharsets.US_ASCII);
      byte[] bytes = java.util.Arrays.copyOf(headBytes, headBytes.length + body.length);
      System.arraycopy(body, 0, bytes, headBytes.length, body.length);
      return new HttpGuard.RawAnswer(
          bytes,
          written -> {
            record.bytes(0, written); // the partial head is not counted
            tracking.finish(record);
          });
    }

    @Override
    public void leftMidHead(HttpConnection connection) {
      AuditRecord record = tracking.begin(connection);
      tracking.callerLeft(record);
      tracking.finish(record);
    }
  }

  /** Ready when no part of {@link #readiness()} gives a reason not to be. */
  public boolean ready() {
    return readiness.ready();
  }

  /** What {@code /readyz} answers; parts of the gateway add their own contributors. */
  public Readiness readiness() {
    return readiness;
  }

  /** Applies a reloaded configuration: endpoints and rules change, listeners do not. */
  public void apply(GatewayConfig config) {
    GatewayState previous = current(state);
    GatewayState next =
        GatewayState.build(config, components.authorizers(), components.backends(), previous);
    state.set(next);
    registerHealthGauges(config);
    // A backend this reload retired is closed once the calls still using it have ended, so a
    // stream in progress on a changed endpoint finishes on the backend it started with.
    calls.retire(next.retiredSince(previous));
    LOG.info(
        "Configuration applied: {} endpoints, {} rules",
        config.endpoints().size(),
        config.rules().size());
  }

  public GatewayState state() {
    return current(state);
  }

  /** The snapshot served now: the constructor sets the first, and reloads only ever replace it. */
  private static GatewayState current(AtomicReference<GatewayState> state) {
    return Objects.requireNonNull(state.get(), "the constructor sets the first snapshot");
  }

  public int port() {
    return traffic.get(0).actualPort();
  }

  public int managementPort() {
    HttpServer m = management;
    if (m == null) {
      throw new IllegalStateException("the management server is not listening (yet)");
    }
    return m.actualPort();
  }

  /** What a drain did, for the log and the caller. */
  public record DrainResult(
      int inFlightAtStart, long completed, int endedAtDeadline, long millis) {}

  /**
   * Drains the gateway for shutdown: {@code /readyz} answers 503 at once and traffic is still
   * served for {@code delay} (so load balancers and Kubernetes endpoints stop sending; responses
   * meanwhile say {@code Connection: close}); then the traffic listeners stop accepting
   * connections, and the calls in flight have until {@code timeout} to finish. Calls still open
   * then are ended ({@code gateway:shutdown} in their records). One log line when draining starts
   * and one when it ends, with counts. Close the gateway after.
   */
  public Future<DrainResult> drain(Duration delay, Duration timeout) {
    long start = System.nanoTime();
    long closedBefore = calls.closedCount();
    draining = true;
    calls.draining(true);
    int atStart = calls.size();
    LOG.info(
        "Draining: /readyz answers 503; serving for {} more, then no new connections; {} calls in"
            + " flight, up to {} for calls to finish",
        delay,
        atStart,
        timeout);
    Promise<DrainResult> done = Promise.promise();
    vertx.setTimer(
        Math.max(1, delay.toMillis()),
        t -> {
          // Vert.x's own grace runs past ours: calls still open at our deadline are ended by us
          // first, so their records say why.
          long grace = timeout.toMillis() + FORCE_CLOSE_GRACE_MS;
          for (HttpServer server : traffic) {
            server.shutdown(grace, TimeUnit.MILLISECONDS);
          }
          long deadline = System.nanoTime() + timeout.toNanos();
          int[] ended = {-1};
          long[] cutAt = {0};
          vertx.setPeriodic(
              DRAIN_POLL_MS,
              id -> {
                long now = System.nanoTime();
                boolean idle = calls.size() == 0;
                if (!idle && ended[0] < 0 && now >= deadline) {
                  ended[0] = calls.endAll();
                  cutAt[0] = now;
                  LOG.warn(
                      "Drain deadline ({}) reached: ending {} calls still in flight",
                      timeout,
                      ended[0]);
                  return;
                }
                if (idle
                    || (ended[0] >= 0
                        && now - cutAt[0] >= TimeUnit.MILLISECONDS.toNanos(FORCE_CLOSE_GRACE_MS))) {
                  vertx.cancelTimer(id);
                  int cut = Math.max(ended[0], 0);
                  long completed = calls.closedCount() - closedBefore - cut;
                  DrainResult result =
                      new DrainResult(
                          atStart, completed, cut, TimeUnit.NANOSECONDS.toMillis(now - start));
                  LOG.info(
                      "Drained in {} ms: {} calls completed, {} ended at the deadline, {} still open",
                      result.millis(),
                      result.completed(),
                      result.endedAtDeadline(),
                      calls.size());
                  done.complete(result);
                }
              });
        });
    return done.future();
  }

  public boolean draining() {
    return draining;
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
    return servers
        .eventually(this::closeBackends)
        .eventually(
            () -> {
              quotas.close();
              return Future.succeededFuture();
            });
  }

  private Future<Void> closeBackends() {
    List<Backend> all = new java.util.ArrayList<>(current(state).backends().values());
    all.addAll(calls.retiring());
    return Future.all(all.stream().map(Backend::close).toList()).mapEmpty();
  }
}
