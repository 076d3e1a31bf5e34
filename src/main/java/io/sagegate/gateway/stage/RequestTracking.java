package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.audit.AuditSink;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.GatewayState;
import io.sagegate.gateway.HttpGuard;
import io.sagegate.gateway.Stage;
import io.sagegate.gateway.TrustedProxies;
import io.sagegate.logging.RequestLogContext;
import io.sagegate.match.Cidr;
import io.sagegate.metrics.GatewayMetrics;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.net.SocketAddress;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * First stage: gives the request its id (sent back as {@code x-amzn-RequestId}, the header AWS SDKs
 * read), opens its audit record, counts it in flight and pins the configuration snapshot. The
 * record is written and the metrics recorded once the response ends (or the caller goes), so
 * rejected and failed requests are counted exactly once too.
 *
 * <p>The record's source address is the TCP peer, or, when the peer is one of the configured
 * trusted proxies, the client it forwarded for ({@link TrustedProxies}); that address is also what
 * the rules' {@code sourceCidrs} match. With {@code server.proxyProtocol} the peer is the source
 * the PROXY header names. {@code peerIp} is the TCP peer, recorded only when it is not the source
 * (compared as addresses, so {@code ::ffff:10.0.0.1} is {@code 10.0.0.1}).
 */
public final class RequestTracking implements Stage {

  /**
   * Told when a request opens and closes: the gateway keeps the calls in flight, to drain them at
   * shutdown and to close a backend a reload retired once no call uses it.
   */
  public interface Calls {
    /** The configuration snapshot the request is served with; called once, as it opens. */
    GatewayState opened(Exchange ex);

    /** Called once, as the request closes, before its record is written. */
    void closed(Exchange ex);
  }

  /** The audited status of a request whose caller went away before any answer (nginx's 499). */
  private static final int CLIENT_CLOSED_REQUEST = 499;

  private static final String CALLER_GONE_TYPE = "ClientClosedRequest";
  private static final String CALLER_GONE_REASON = "caller:gone";

  private final AuditSink audit;
  private final GatewayMetrics metrics;
  private final Calls calls;

  /** Null when no proxies are trusted: the peer is the client and no header is looked at. */
  private final @Nullable TrustedProxies proxies;

  /** Whether connections start with a PROXY header (then the peer Vert.x reports is its source). */
  private final boolean proxyProtocol;

  /**
   * @param proxies the trusted proxies whose {@code X-Forwarded-For} names the client, or null
   * @param proxyProtocol whether the listener reads a PROXY protocol header, so that the TCP peer
   *     (the load balancer) is audited as {@code peerIp}
   */
  public RequestTracking(
      AuditSink audit,
      GatewayMetrics metrics,
      Calls calls,
      @Nullable TrustedProxies proxies,
      boolean proxyProtocol) {
    this.audit = audit;
    this.metrics = metrics;
    this.calls = calls;
    this.proxies = proxies;
    this.proxyProtocol = proxyProtocol;
  }

  @Override
  public void handle(Exchange ex) {
    HttpServerRequest request = ex.request();
    AuditRecord record = begin(request);
    ex.begin(record, calls.opened(ex));
    // The record closes when the response ends or, if the caller goes away first, when the
    // connection closes; whichever comes first, and only once.
    HttpServerResponse response = request.response();
    boolean[] finished = {false};
    Consumer<Boolean> close =
        callerLeft -> {
          if (!finished[0]) {
            finished[0] = true;
            calls.closed(ex);
            finish(record, request, callerLeft);
            ex.ended();
          }
        };
    // Vert.x also calls the end handler when the connection closes first (then before the close
    // handler), with the response not ended: the caller went away.
    response.endHandler(v -> close.accept(!response.ended()));
    // The close handler runs for every HTTP/2 stream, a completed one too (and before the end
    // handler, when the stream closes as its last frame is written): only a response that has
    // not ended means the caller left.
    response.closeHandler(
        v -> {
          if (!response.ended()) {
            close.accept(true);
            ex.callerGone();
          }
        });
    // A malformed chunked body: Vert.x reports the decoder's failure here (HttpGuard made it a
    // GatewayException), then closes the connection; the request is answered 400 before that.
    response.exceptionHandler(
        err -> {
          if (err instanceof GatewayException error) {
            ex.fail(error);
          }
        });
    // The gateway closing the connection (idle) answers the request first, as its own doing.
    HttpGuard.whileInProgress(request.connection(), ex::fail);
    ex.next();
  }

  /**
   * Opens the record of a request, counts it in flight and sends its id back. Also used for
   * requests the HTTP decoder rejects before routing, so those are recorded the same way.
   */
  public AuditRecord begin(HttpServerRequest request) {
    // With the PROXY protocol, the address its header names; else the TCP peer.
    String peer = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
    String sourceIp = peer;
    String peerIp = null;
    if (proxies != null && peer != null) {
      // The peer's own text when the header names the peer's address in another form.
      sourceIp = proxies.clientAddress(peer, request.headers());
      peerIp = sourceIp.equals(peer) ? null : peer;
    }
    AuditRecord record =
        open(
            sourceIp,
            loadBalancer(request.connection(), sourceIp, peerIp),
            request.method().name());
    request.response().putHeader(SageMakerHeaders.REQUEST_ID, record.requestId());
    // Every log line written while this request's work runs names it (logback.xml).
    RequestLogContext.set(record.requestId());
    return record;
  }

  /**
   * Opens the record of a request that never became one (its head did not arrive whole): the source
   * is the connection's peer, as no header was read.
   */
  public AuditRecord begin(HttpConnection connection) {
    SocketAddress remote = connection.remoteAddress();
    String sourceIp = remote == null ? null : remote.hostAddress();
    return open(sourceIp, loadBalancer(connection, sourceIp, null), null);
  }

  /**
   * A new record, counted in flight; {@code sourceIp} is null when the connection has no peer
   * address, {@code method} when no request head was read.
   */
  private AuditRecord open(
      @Nullable String sourceIp, @Nullable String peerIp, @Nullable String method) {
    AuditRecord record =
        new AuditRecord(Instant.now(), System.nanoTime(), newRequestId(), sourceIp, peerIp, method);
    metrics.requestStarted();
    return record;
  }

  /**
   * With the PROXY protocol, the TCP peer (the load balancer itself) when it is not the source,
   * else {@code peerIp} unchanged. Compared as addresses: a TCP6 PROXY header may name an IPv4 peer
   * IPv4-mapped.
   */
  private @Nullable String loadBalancer(
      HttpConnection connection, @Nullable String sourceIp, @Nullable String peerIp) {
    if (proxyProtocol) {
      SocketAddress tcp = connection.remoteAddress(true);
      String tcpPeer = tcp == null ? null : tcp.hostAddress();
      if (tcpPeer != null && !Cidr.sameAddress(tcpPeer, sourceIp)) {
        return tcpPeer;
      }
    }
    return peerIp;
  }

  /**
   * Closes a record opened with {@link #begin(HttpConnection)}; its status and bytes are set. The
   * one place a record is timed, counted and written.
   */
  public void finish(AuditRecord record) {
    record.finished(System.nanoTime());
    metrics.requestEnded(record);
    audit.write(record);
  }

  /**
   * A request that was never answered because its caller left while sending it: nginx's 499, and
   * the record says the caller went.
   */
  public void callerLeft(AuditRecord record) {
    record.status(CLIENT_CLOSED_REQUEST);
    record.error(CALLER_GONE_TYPE, CALLER_GONE_REASON);
  }

  /** Closes the record once the response has ended: metrics recorded, the record written once. */
  public void finish(AuditRecord record, HttpServerRequest request) {
    finish(record, request, false);
  }

  /**
   * @param callerLeft the connection closed before the response ended: the caller went away, and
   *     the record says so instead of showing the 200 that an unwritten response reports. With no
   *     head sent, its status is 499, as nginx logs a caller that closed its request.
   */
  private void finish(AuditRecord record, HttpServerRequest request, boolean callerLeft) {
    HttpGuard.whileInProgress(request.connection(), null);
    record.status(request.response().getStatusCode());
    if (callerLeft) {
      if (!request.response().headWritten()) {
        record.status(CLIENT_CLOSED_REQUEST);
      }
      if (record.errorType() == null) {
        record.error(CALLER_GONE_TYPE, CALLER_GONE_REASON);
      }
    }
    record.bytes(request.bytesRead(), request.response().bytesWritten());
    record.backendEnded(System.nanoTime());
    finish(record);
  }

  /** A random UUID-formatted id; ThreadLocalRandom keeps SecureRandom off the hot path. */
  static String newRequestId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    return new java.util.UUID(
            (r.nextLong() & 0xffffffffffff0fffL) | 0x4000L,
            (r.nextLong() & 0x3fffffffffffffffL) | 0x8000000000000000L)
        .toString();
  }
}
