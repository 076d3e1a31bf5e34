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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sagegate serve}: runs the gateway. Without {@code --config} it serves the embedded
 * default (conf/local.yaml): two demo endpoints on the built-in demo model and the local
 * development token issuer, so it runs on a laptop with no AWS account.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
    description = "Run the gateway (the embedded default without --config).")
public final class ServeCommand implements Callable<Integer> {

  private static final Logger LOG = LoggerFactory.getLogger(ServeCommand.class);

  @Option(names = "--config", description = "Configuration file (YAML); reloaded when it changes.")
  Path config;

  @Option(names = "--port", description = "Traffic port (default: server.port, 8080).")
  Integer port;

  @Option(names = "--management-port", description = "Management port (default: server.managementPort, 9464).")
  Integer managementPort;

  @Option(names = "--key-dir", description = "Development issuer key folder (default: ${DEFAULT-VALUE}).")
  Path keyDir = DevIssuer.defaultDir();

  @Option(names = "--reload-interval", description = "How often the config file is checked (default: ${DEFAULT-VALUE}).")
  Duration reloadInterval = Duration.ofSeconds(2);

  @Override
  public Integer call() throws Exception {
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
    Vertx vertx = Vertx.vertx(new io.vertx.core.VertxOptions()
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
      assembly = GatewayAssembly.start(vertx, cfg, registry, audit, keyDir)
          .await();
    } catch (Exception e) {
      System.err.println("sagegate could not start: " + e.getMessage());
      vertx.close();
      return 1;
    }
    Gateway gateway = assembly.gateway();
    if (config != null) {
      GatewayConfig started = cfg;
      ConfigWatcher.startAsync(vertx, config, started, assembly::reload, registry, reloadInterval,
          this::withPorts);
    }
    printBanner(cfg, gateway);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        assembly.close().await();
        vertx.close().await();
      } catch (Exception e) {
        LOG.warn("Shutdown: {}", e.toString());
      }
      audit.close();
      stopped.countDown();
    }, "sagegate-shutdown"));
    stopped.await();
    return 0;
  }

  static void logTransport(Vertx vertx) {
    if (vertx.isNativeTransportEnabled()) {
      LOG.info("Network transport: native (epoll)");
    } else {
      LOG.info("Network transport: Java NIO (native transport unavailable: {})",
          String.valueOf(vertx.unavailableNativeTransportCause()));
    }
  }

  private GatewayConfig withPorts(GatewayConfig cfg) {
    if (port == null && managementPort == null) {
      return cfg;
    }
    var server = cfg.server().withPorts(
        port == null ? cfg.server().port() : port,
        managementPort == null ? cfg.server().managementPort() : managementPort);
    return new GatewayConfig(server, cfg.auth(), cfg.audit(), cfg.aws(), cfg.endpoints(), cfg.rules(),
        cfg.admission(), cfg.limits());
  }

  private void printBanner(GatewayConfig cfg, Gateway gateway) {
    String jar = jarCommand();
    StringBuilder b = new StringBuilder();
    b.append("\nsagegate is serving on http://localhost:").append(gateway.port())
        .append("  (management: http://localhost:").append(gateway.managementPort())
        .append("/metrics, /healthz, /readyz)\n");
    b.append("Endpoints:\n");
    cfg.endpoints().forEach(e -> b.append("  ").append(e.name()).append("  tags ").append(e.tags())
        .append("  backend ").append(e.backend().type()).append('\n'));
    if (cfg.auth().devIssuer()) {
      String example = cfg.endpoints().stream().map(e -> e.name())
          .filter(n -> n.equals("sentiment-test")).findFirst()
          .orElse(cfg.endpoints().isEmpty() ? "my-endpoint" : cfg.endpoints().get(0).name());
      b.append("Get a development token (local issuer, key in ").append(keyDir).append("):\n");
      b.append("  TOKEN=$(").append(jar).append(" token --sub alice --groups data-scientists)\n");
      b.append("Call the demo model:\n");
      b.append("  curl -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json'"
          + " -d '{\"text\":\"great product\"}' localhost:").append(gateway.port())
          .append("/endpoints/").append(example).append("/invocations\n");
      b.append("Audit records go to ").append(cfg.audit().sink()).append("; logs to stderr.\n");
    }
    System.err.println(b);
  }

  /** How to run this very jar from the current directory, for the printed commands. */
  private static String jarCommand() {
    try {
      Path jar = Path.of(ServeCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path cwd = Path.of("").toAbsolutePath();
      Path shown = jar.startsWith(cwd) ? cwd.relativize(jar) : jar;
      return shown.toString().endsWith(".jar") ? "java -jar " + shown : "java -jar target/sagegate.jar";
    } catch (Exception e) {
      return "java -jar target/sagegate.jar";
    }
  }
}
