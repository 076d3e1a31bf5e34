package io.sagegate.config;

import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Listener and request limits. Defaults: traffic on 8080, management on 9464, a 6 MiB body limit
 * (SageMaker's), 16 KiB of request headers, and one event loop (with its own traffic listener) per
 * available core ({@code eventLoops: 0}).
 *
 * <p>{@code trustedProxies} (CIDRs, default none) are the load balancers and ingress proxies whose
 * {@code X-Forwarded-For} is believed: with none, the client address is the TCP peer and the header
 * is ignored, so no client can choose the address its rules and audit record see. {@code
 * proxyProtocol} (default off) makes the traffic listener expect a PROXY protocol header (v1 or v2,
 * as an AWS NLB sends) on every connection and take the client address from it.
 *
 * <p>On SIGTERM or SIGINT the gateway drains: {@code /readyz} answers 503 at once, traffic is still
 * served for {@code drainDelay} (default 5 s, so load balancers and Kubernetes endpoints stop
 * sending), then the listeners stop accepting connections and the calls in flight have up to {@code
 * drainTimeout} (default 60 s) to finish.
 *
 * <p>{@code headerTimeout} (default 10 s) bounds how long a request's head may take to arrive once
 * its first byte has: a slower one is answered 408 (a slowloris holds no connection longer). {@code
 * http2} (default off) also serves HTTP/2 cleartext (h2c, by prior knowledge or upgrade); SageMaker
 * Runtime is HTTP/1.1, so without it only HTTP/1.x is spoken.
 */
public record ServerSettings(
    String host,
    int port,
    int managementPort,
    long maxBodyBytes,
    int maxHeaderBytes,
    Duration idleTimeout,
    int eventLoops,
    List<String> trustedProxies,
    boolean proxyProtocol,
    Duration headerTimeout,
    boolean http2,
    Duration drainDelay,
    Duration drainTimeout) {

  public static final long SAGEMAKER_MAX_BODY_BYTES = 6L * 1024 * 1024;

  /** How long a request's head (request line and headers) may take to arrive: nginx's is 60 s. */
  public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(10);

  public static final Duration DEFAULT_DRAIN_DELAY = Duration.ofSeconds(5);
  public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(60);

  /** Absent values (null) take their defaults, as do sizes of 0 or less. */
  public ServerSettings(
      @Nullable String host,
      int port,
      int managementPort,
      long maxBodyBytes,
      int maxHeaderBytes,
      @Nullable Duration idleTimeout,
      int eventLoops,
      @Nullable List<String> trustedProxies,
      boolean proxyProtocol,
      @Nullable Duration headerTimeout,
      boolean http2,
      @Nullable Duration drainDelay,
      @Nullable Duration drainTimeout) {
    this.host = host == null ? "0.0.0.0" : host;
    this.port = port;
    this.managementPort = managementPort;
    this.maxBodyBytes = maxBodyBytes <= 0 ? SAGEMAKER_MAX_BODY_BYTES : maxBodyBytes;
    this.maxHeaderBytes = maxHeaderBytes <= 0 ? 16 * 1024 : maxHeaderBytes;
    this.idleTimeout = idleTimeout == null ? Duration.ofSeconds(120) : idleTimeout;
    this.eventLoops = eventLoops;
    this.trustedProxies = trustedProxies == null ? List.of() : List.copyOf(trustedProxies);
    this.proxyProtocol = proxyProtocol;
    this.headerTimeout = headerTimeout == null ? DEFAULT_HEADER_TIMEOUT : headerTimeout;
    this.http2 = http2;
    if (eventLoops < 0) {
      throw new IllegalArgumentException(
          "server.eventLoops: " + eventLoops + " must be 0 (one per core) or more");
    }
    requirePort("server.port", port);
    requirePort("server.managementPort", managementPort);
    this.drainDelay = drainDelay == null ? DEFAULT_DRAIN_DELAY : drainDelay;
    this.drainTimeout = drainTimeout == null ? DEFAULT_DRAIN_TIMEOUT : drainTimeout;
    if (this.drainDelay.isNegative()) {
      throw new IllegalArgumentException(
          "server.drainDelay: " + this.drainDelay + " must not be negative");
    }
    if (this.drainTimeout.isNegative()) {
      throw new IllegalArgumentException(
          "server.drainTimeout: " + this.drainTimeout + " must not be negative");
    }
  }

  static void requirePort(String field, int port) {
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(field + ": " + port + " is not a port (0 to 65535)");
    }
  }

  public static ServerSettings defaults() {
    return new ServerSettings(
        null, 8080, 9464, 0, 0, null, 0, List.of(), false, null, false, null, null);
  }

  /** The number of event loops and traffic listeners: {@code eventLoops}, or one per core. */
  public int effectiveEventLoops() {
    return eventLoops > 0 ? eventLoops : Runtime.getRuntime().availableProcessors();
  }

  public ServerSettings withPorts(int port, int managementPort) {
    return new ServerSettings(
        host,
        port,
        managementPort,
        maxBodyBytes,
        maxHeaderBytes,
        idleTimeout,
        eventLoops,
        trustedProxies,
        proxyProtocol,
        headerTimeout,
        http2,
        drainDelay,
        drainTimeout);
  }
}
