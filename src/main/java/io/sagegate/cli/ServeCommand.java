package io.sagegate.cli;

import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagegate.audit.JsonLinesAuditSink;
import io.sagegate.auth.DevIssuer;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.ConfigException;
import io.sagegate.config.ConfigLoader;
import io.sagegate.config.ConfigWatcher;
import io.sagegate.config.GatewayConfig;
import io.sagegate.gateway.Gateway;
import io.sagegate.gateway.GatewayAssembly;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code sagegate serve}: runs the gateway. Without {@code --config} it serves the embedded default
 * (conf/local.yaml): two demo endpoints on the built-in demo model and the local development token
 * issuer, so it runs on a laptop with no AWS account.
 */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description = "Run the gateway (the embedded default without --config).")
public final class ServeCommand implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

  @Option(names = "--config", description = "Configuration file (YAML); reloaded when it changes.")
  @Nullable Path config;

  @Option(names = "--port", description = "Traffic port (default: server.port, 8080).")
  @Nullable Integer port;

  @Option(
      names = "--management-port",
      description = "Management port (default: server.managementPort, 9464).")
  @Nullable Integer managementPort;

  @Option(
      names = "--key-dir",
      description = "Development issuer key folder (default: ${DEFAULT-VALUE}).")
  Path keyDir = DevIssuer.defaultDir();

  @Option(
      names = "--reload-interval",
      description = "How often the config file is checked (default: ${DEFAULT-VALUE}).")
  Duration reloadInterval = Duration.ofSeconds(2);

  // picocli injects the spec before call().
  @SuppressWarnings("NullAway.Init")
  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    checkOptions();
    GatewayConfig cfg;
    try {
      cfg = config == null ? ConfigLoader.embeddedDefault() : ConfigLoader.load(config);
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      return 1;
    }
    cfg = withPorts(cfg);
    // One event loop per traffic listener (server.eventLoops, default one per core); Vert.x's
    // default of two per core only adds switching for a proxy that never blocks. The native
    // transport (epoll on Linux) when its library loads, else Java NIO.
    Vertx vertx =
        Vertx.vertx(
            new io.vertx.core.VertxOptions()
                .setEventLoopPoolSize(cfg.server().effectiveEventLoops())
                .setPreferNativeTransport(true));
    logTransport(vertx);
    PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    JsonLinesAuditSink audit = JsonLinesAuditSink.create(cfg.audit());
    GatewayAssembly assembly;
    try {
      assembly = GatewayAssembly.start(vertx, cfg, registry, audit, keyDir).await();
    } catch (Exception e) {
      System.err.println("sagegate could not start: " + e.getMessage());
      vertx.close();
      return 1;
    }
    Gateway gateway = assembly.gateway();
    if (config != null) {
      GatewayConfig started = cfg;
      ConfigWatcher.startAsync(
          vertx, config, started, assembly::reload, registry, reloadInterval, this::withPorts);
    }
    printBanner(cfg, gateway);
    // SIGTERM and SIGINT drain the gateway and end with exit status 0 (Shutdown); any other way
    // the JVM shuts down (System.exit elsewhere) still drains in the shutdown hook.
    Shutdown shutdown = new Shutdown(cfg, assembly, vertx, audit);
    CountDownLatch signalled = new CountDownLatch(1);
    Shutdown.onSignals(
        () -> {
          if (signalled.getCount() == 0) {
            LOG.warn("Second stop signal: exiting now, without waiting for calls in flight");
            audit.flush();
            Runtime.getRuntime().halt(1);
          }
          signalled.countDown();
        });
    // A signal not taken above (a JVM without sun.misc.Signal) still drains, in the shutdown hook,
    // while this thread waits here for good.
    Runtime.getRuntime().addShutdownHook(new Thread(shutdown::run, "sagegate-shutdown"));
    signalled.await();
    shutdown.run();
    return 0;
  }

  /**
   * The options' own limits, checked before anything starts, so a bad one is a usage error naming
   * the option (exit 2) rather than a stack trace: a port the settings would refuse as {@code
   * server.port}, or a reload interval the watcher would refuse after the gateway had started.
   */
  private void checkOptions() {
    checkPort("--port", port);
    checkPort("--management-port", managementPort);
    if (reloadInterval.toMillis() < 1) {
      throw new ParameterException(
          spec.commandLine(), "--reload-interval: must be at least 1 ms, was " + reloadInterval);
    }
  }

  private void checkPort(String option, @Nullable Integer value) {
    if (value != null && (value < 0 || value > 65535)) {
      throw new ParameterException(
          spec.commandLine(), option + ": " + value + " is not a port (0 to 65535)");
    }
  }

  /** Drains and closes the gateway once, whether a signal or the shutdown hook asks first. */
  static final class Shutdown {
    private final GatewayConfig cfg;
    private final GatewayAssembly assembly;
    private final Vertx vertx;
    private final JsonLinesAuditSink audit;
    private boolean done;

    Shutdown(GatewayConfig cfg, GatewayAssembly assembly, Vertx vertx, JsonLinesAuditSink audit) {
      this.cfg = cfg;
      this.assembly = assembly;
      this.vertx = vertx;
      this.audit = audit;
    }

    synchronized void run() {
      if (done) {
        return;
      }
      done = true;
      try {
        assembly.gateway().drain(cfg.server().drainDelay(), cfg.server().drainTimeout()).await();
      } catch (Exception e) {
        LOG.warn("Drain: {}", e.toString());
      }
      try {
        assembly.close().await();
        vertx.close().await();
      } catch (Exception e) {
        LOG.warn("Shutdown: {}", e.toString());
      }
      audit.flush();
      audit.close();
    }

    /**
     * Runs {@code stop} on SIGTERM and SIGINT instead of the JVM's own shutdown (which would end
     * with status 143 or 130). Returns false if SIGTERM could not be taken. A signal the process
     * was started with ignored (SIGINT for a background job, nohup) stays ignored.
     */
    static boolean onSignals(Runnable stop) {
      boolean term = false;
      for (String name : new String[] {"TERM", "INT"}) {
        try {
          sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> stop.run());
          term |= name.equals("TERM");
        } catch (Throwable e) {
          // One signal the JVM cannot take (or a JVM without sun.misc.Signal): the others still
          // drain.
          LOG.warn(
              "SIG{} is not handled ({}): it stops the gateway through the shutdown hook",
              name,
              e.toString());
        }
      }
      return term;
    }
  }

  static void logTransport(Vertx vertx) {
    if (vertx.isNativeTransportEnabled()) {
      LOG.info("Network transport: native (epoll)");
    } else {
      LOG.info(
          "Network transport: Java NIO (native transport unavailable: {})",
          String.valueOf(vertx.unavailableNativeTransportCause()));
    }
  }

  private GatewayConfig withPorts(GatewayConfig cfg) {
    if (port == null && managementPort == null) {
      return cfg;
    }
    var server =
        cfg.server()
            .withPorts(
                port == null ? cfg.server().port() : port,
                managementPort == null ? cfg.server().managementPort() : managementPort);
    return new GatewayConfig(
        server,
        cfg.auth(),
        cfg.audit(),
        cfg.aws(),
        cfg.endpoints(),
        cfg.rules(),
        cfg.admission(),
        cfg.limits());
  }

  private void printBanner(GatewayConfig cfg, Gateway gateway) {
    System.err.println(banner(cfg, gateway.port(), gateway.managementPort(), keyDir, jarCommand()));
  }

  /**
   * What {@code serve} prints once it listens: the ports, the endpoints and rule ids, where the
   * development issuer's key is and how to get a token, and a curl line for a demo endpoint (only
   * when one is configured: elsewhere it would not work), with a second one on its
   * OpenAI-compatible path when it serves that path.
   */
  static String banner(GatewayConfig cfg, int port, int managementPort, Path keyDir, String jar) {
    StringBuilder b = new StringBuilder();
    b.append("\nsagegate is serving on http://localhost:")
        .append(port)
        .append("  (management: http://localhost:")
        .append(managementPort)
        .append("/metrics, /healthz, /readyz)\n");
    b.append("Endpoints:\n");
    cfg.endpoints()
        .forEach(
            e ->
                b.append("  ")
                    .append(e.name())
                    .append("  tags ")
                    .append(e.tags())
                    .append("  backend ")
                    .append(e.backend().type())
                    .append('\n'));
    if (cfg.endpoints().isEmpty()) {
      b.append("  (none)\n");
    }
    b.append("Rules: ")
        .append(
            cfg.rules().isEmpty()
                ? "(none: every call is denied)"
                : String.join(", ", cfg.rules().stream().map(r -> r.id()).toList()))
        .append('\n');
    if (cfg.auth().devIssuer()) {
      b.append("Development issuer key: ").append(keyDir.toAbsolutePath()).append('\n');
      b.append("Get a development token (local issuer):\n");
      b.append("  TOKEN=$(").append(jar).append(" token --sub alice --groups data-scientists)\n");
      // The demo call only where it works: a demo endpoint is configured.
      cfg.endpoints().stream()
          .filter(e -> e.backend().type().equals(BackendConfig.DEMO))
          .map(e -> e.name())
          .sorted(java.util.Comparator.comparing(n -> !n.equals("sentiment-test")))
          .findFirst()
          .ifPresent(
              example -> {
                b.append("Call the demo model:\n");
                b.append(
                        "  curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json'"
                            + " -d '{\"text\":\"great product\"}' localhost:")
                    .append(port)
                    .append("/endpoints/")
                    .append(example)
                    .append("/invocations\n");
              });
      // The same with an OpenAI client's call, where a demo endpoint serves that path (by default).
      cfg.endpoints().stream()
          .filter(e -> e.backend().type().equals(BackendConfig.DEMO) && e.backend().openaiEnabled())
          .map(e -> e.name())
          .sorted(java.util.Comparator.comparing(n -> !n.equals("sentiment-test")))
          .findFirst()
          .ifPresent(
              example -> {
                b.append("Or as an OpenAI client calls it (base URL http://localhost:")
                    .append(port)
                    .append("/endpoints/")
                    .append(example)
                    .append("/openai/v1, api_key $TOKEN):\n");
                b.append(
                        "  curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json'"
                            + " -d '{\"model\":\"sagegate-demo\",\"messages\":[{\"role\":\"user\",\"content\":\"great product\"}]}'"
                            + " localhost:")
                    .append(port)
                    .append("/endpoints/")
                    .append(example)
                    .append("/openai/v1/chat/completions\n");
              });
    }
    b.append("Audit records go to ")
        .append(cfg.audit().sink().equals("file") ? cfg.audit().file() : "stdout")
        .append("; logs to stderr.\n");
    return b.toString();
  }

  /** How to run this very jar from the current directory, for the printed commands. */
  private static String jarCommand() {
    try {
      Path jar =
          Path.of(ServeCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path cwd = Path.of("").toAbsolutePath();
      Path shown = jar.startsWith(cwd) ? cwd.relativize(jar) : jar;
      return shown.toString().endsWith(".jar")
          ? "java -jar " + shown
          : "java -jar target/sagegate.jar";
    } catch (Exception e) {
      return "java -jar target/sagegate.jar";
    }
  }
}
