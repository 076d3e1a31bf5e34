package io.sagegate.config;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reloads endpoints and rules when the configuration file changes, without a restart. Polls the
 * file (a content hash, so a touch alone does nothing); reading and parsing run on a worker thread,
 * never on the event loop. A file that fails validation is logged, error by error, and counted
 * ({@code sagegate.config.reloads{result=failed}}); the last good configuration keeps serving.
 * Server, auth, audit and aws settings are read only at start: changing them logs a warning that a
 * restart is needed, and the file's endpoints and rules are validated against the settings the
 * gateway started with (a first sagemaker endpoint is refused, like an invalid file, when the
 * gateway started without usable aws settings).
 *
 * <p>Polling rather than a WatchService: it works the same on every file system (including mounted
 * ConfigMaps, whose files change by symlink swap) and needs no thread of its own.
 */
public final class ConfigWatcher implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ConfigWatcher.class);

  /** Counter name; tagged result=ok or result=failed. */
  public static final String RELOADS = "sagegate.config.reloads";

  public static final Duration DEFAULT_POLL_INTERVAL = Duration.ofSeconds(5);

  private final Vertx vertx;
  private final Path file;
  private final Function<GatewayConfig, Future<?>> onReload;
  private final UnaryOperator<GatewayConfig> startupOverrides;
  private final Counter ok;
  private final Counter failed;
  private final long timerId;
  private volatile GatewayConfig current;

  /**
   * Hash of the last content examined, null before the first check; touched only by one check at a
   * time (see {@link #tail}).
   */
  private volatile @Nullable String lastHash;

  private Future<ReloadResult> tail;

  private ConfigWatcher(
      Vertx vertx,
      Path file,
      GatewayConfig initial,
      Function<GatewayConfig, Future<?>> onReload,
      MeterRegistry registry,
      Duration pollInterval,
      UnaryOperator<GatewayConfig> startupOverrides) {
    this.vertx = vertx;
    this.startupOverrides = startupOverrides;
    this.file = file;
    this.current = initial;
    this.onReload = onReload;
    this.ok = reloads(registry, "ok");
    this.failed = reloads(registry, "failed");
    this.tail = Future.succeededFuture(ReloadResult.unchanged(initial));
    this.timerId = vertx.setPeriodic(pollInterval.toMillis(), id -> poll());
  }

  /** The {@value #RELOADS} counter of one result: both results share the name and help text. */
  private static Counter reloads(MeterRegistry registry, String result) {
    return Counter.builder(RELOADS)
        .tag("result", result)
        .description("Configuration reloads, by result")
        .register(registry);
  }

  /**
   * Starts polling {@code file} every {@code pollInterval}.
   *
   * @param initial the configuration serving now (loaded from {@code file})
   * @param onReload called on a Vert.x context with each new configuration (the running server,
   *     auth, audit and aws settings with the file's endpoints and rules); if it throws, the reload
   *     counts as failed and the previous configuration stays current
   */
  public static ConfigWatcher start(
      Vertx vertx,
      Path file,
      GatewayConfig initial,
      Consumer<GatewayConfig> onReload,
      MeterRegistry registry,
      Duration pollInterval) {
    Objects.requireNonNull(onReload, "onReload");
    return startAsync(
        vertx,
        file,
        initial,
        config -> {
          onReload.accept(config);
          return Future.succeededFuture();
        },
        registry,
        pollInterval);
  }

  /**
   * Starts polling {@code file} every {@code pollInterval}, handing each new configuration to a
   * hook that may need I/O first (e.g. starting a server the new configuration needs).
   *
   * @param onReload called on a Vert.x context with each new configuration (as for {@link #start});
   *     the reload counts as done when its future succeeds, and as failed, the previous
   *     configuration staying current, if it fails or the hook throws. The next check waits for it.
   */
  public static ConfigWatcher startAsync(
      Vertx vertx,
      Path file,
      GatewayConfig initial,
      Function<GatewayConfig, Future<?>> onReload,
      MeterRegistry registry,
      Duration pollInterval) {
    return startAsync(
        vertx, file, initial, onReload, registry, pollInterval, UnaryOperator.identity());
  }

  /**
   * As {@link #startAsync(Vertx, Path, GatewayConfig, Function, MeterRegistry, Duration)}, for a
   * gateway whose {@code initial} configuration is the file with command-line settings laid over it
   * (serve's {@code --port}, {@code --management-port}): {@code startupOverrides} lays the same
   * settings over each reloaded file before it is compared, so they are not taken for changes to
   * the file's server settings.
   */
  public static ConfigWatcher startAsync(
      Vertx vertx,
      Path file,
      GatewayConfig initial,
      Function<GatewayConfig, Future<?>> onReload,
      MeterRegistry registry,
      Duration pollInterval,
      UnaryOperator<GatewayConfig> startupOverrides) {
    Objects.requireNonNull(startupOverrides, "startupOverrides");
    Objects.requireNonNull(vertx, "vertx");
    Objects.requireNonNull(file, "file");
    Objects.requireNonNull(initial, "initial");
    Objects.requireNonNull(onReload, "onReload");
    Objects.requireNonNull(registry, "registry");
    if (pollInterval == null || pollInterval.toMillis() < 1) {
      throw new IllegalArgumentException("pollInterval: must be at least 1ms, was " + pollInterval);
    }
    return new ConfigWatcher(
        vertx, file, initial, onReload, registry, pollInterval, startupOverrides);
  }

  /**
   * Checks the file now (after any check in progress) and applies it if it changed. For tests and
   * for an operator-triggered reload.
   */
  public synchronized Future<ReloadResult> checkNow() {
    Future<ReloadResult> next = tail.transform(ignored -> check());
    tail = next;
    return next;
  }

  /** The configuration serving now. */
  public GatewayConfig current() {
    return current;
  }

  /** Stops polling. */
  @Override
  public void close() {
    vertx.cancelTimer(timerId);
  }

  private synchronized void poll() {
    if (tail.isComplete()) {
      checkNow();
    }
  }

  private Future<ReloadResult> check() {
    return vertx
        .executeBlocking(this::examine, false)
        .compose(this::apply)
        .otherwise(
            t -> {
              LOG.error("config reload of {} failed unexpectedly: {}", file, t.toString());
              failed.increment();
              return ReloadResult.rejected(
                  current,
                  List.of(new ConfigError(file.toString(), "", null, "reload failed: " + t)));
            });
  }

  /** On a worker thread: read, hash, parse, compare. RELOADED here means "to apply". */
  private ReloadResult examine() {
    GatewayConfig running = current;
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      String marker = "unreadable:" + e;
      if (marker.equals(lastHash)) {
        return ReloadResult.unchanged(running);
      }
      lastHash = marker;
      return ReloadResult.rejected(
          running,
          List.of(
              new ConfigError(
                  file.toString(),
                  "",
                  null,
                  "cannot read the file: "
                      + e.getClass().getSimpleName()
                      + ": "
                      + e.getMessage())));
    }
    String hash = sha256(bytes);
    if (hash.equals(lastHash)) {
      return ReloadResult.unchanged(running);
    }
    lastHash = hash;
    ConfigLoader.Loaded loaded;
    try {
      loaded = ConfigLoader.read(new String(bytes, StandardCharsets.UTF_8), file.toString());
    } catch (ConfigException e) {
      return ReloadResult.rejected(running, e.errors());
    }
    // The command-line settings the gateway started with hold for every reload too.
    GatewayConfig next = startupOverrides.apply(loaded.config());
    List<String> restart = new ArrayList<>();
    if (!next.server().equals(running.server())) {
      restart.add("server");
    }
    if (!next.auth().equals(running.auth())) {
      restart.add("auth");
    }
    if (!next.audit().equals(running.audit())) {
      restart.add("audit");
    }
    if (!next.aws().equals(running.aws())) {
      restart.add("aws");
    }
    if (!next.admission().equals(running.admission())) {
      restart.add("admission");
    }
    if (!restart.isEmpty()) {
      LOG.warn("{}: changes to {} are not applied until restart", file, String.join(", ", restart));
    }
    if (next.endpoints().equals(running.endpoints())
        && next.rules().equals(running.rules())
        && next.limits().equals(running.limits())) {
      return ReloadResult.unchanged(running);
    }
    GatewayConfig merged =
        new GatewayConfig(
            running.server(),
            running.auth(),
            running.audit(),
            running.aws(),
            next.endpoints(),
            next.rules(),
            running.admission(),
            next.limits());
    List<ConfigError> asRunning = errorsUnderRunningSettings(merged, running);
    if (!asRunning.isEmpty()) {
      return ReloadResult.rejected(running, asRunning);
    }
    for (ConfigError w : loaded.warnings()) {
      LOG.warn("configuration warning: {}", w);
    }
    return ReloadResult.reloaded(merged);
  }

  /**
   * The file is valid on its own, but its endpoints and rules run under the server, auth, audit and
   * aws settings the gateway started with: e.g. the first sagemaker endpoint needs the aws settings
   * it started with, not the file's new ones. What {@code merged} breaks that the running
   * configuration did not, each error saying so.
   */
  private List<ConfigError> errorsUnderRunningSettings(
      GatewayConfig merged, GatewayConfig running) {
    List<ConfigError> before = ConfigValidator.validate(file.toString(), running).errors();
    return ConfigValidator.validate(file.toString(), merged).errors().stream()
        .filter(e -> !before.contains(e))
        .map(
            e ->
                new ConfigError(
                    e.file(),
                    e.field(),
                    e.value(),
                    e.message()
                        + " (checked against the settings the gateway started with; server, auth, audit and aws"
                        + " changes apply only after a restart)"))
        .toList();
  }

  /** On the context: hand a new configuration over, or report a rejected one. */
  private Future<ReloadResult> apply(ReloadResult result) {
    switch (result.status()) {
      case RELOADED -> {
        Future<?> applied;
        try {
          applied = onReload.apply(result.config());
        } catch (RuntimeException e) {
          applied = Future.failedFuture(e);
        }
        return (applied == null ? Future.succeededFuture() : applied)
            .transform(
                ar -> {
                  if (ar.failed()) {
                    failed.increment();
                    LOG.error(
                        "{}: reload refused by the gateway, previous configuration kept: {}",
                        file,
                        ar.cause().getMessage());
                    return Future.succeededFuture(
                        ReloadResult.rejected(
                            current,
                            List.of(
                                new ConfigError(
                                    file.toString(),
                                    "",
                                    null,
                                    "refused: " + ar.cause().getMessage()))));
                  }
                  current = result.config();
                  ok.increment();
                  LOG.info(
                      "{}: reloaded ({} endpoints, {} rules)",
                      file,
                      result.config().endpoints().size(),
                      result.config().rules().size());
                  return Future.succeededFuture(result);
                });
      }
      case REJECTED -> {
        failed.increment();
        for (ConfigError e : result.errors()) {
          LOG.error("config reload rejected, previous configuration kept: {}", e);
        }
        return Future.succeededFuture(result);
      }
      default -> {
        return Future.succeededFuture(result);
      }
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }
}
