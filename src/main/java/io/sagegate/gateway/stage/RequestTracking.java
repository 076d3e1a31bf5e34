package io.sagegate.gateway.stage;

import io.sagegate.audit.AuditRecord;
import io.sagegate.audit.AuditSink;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.gateway.GatewayState;
import io.sagegate.gateway.RequestKeys;
import io.sagegate.metrics.GatewayMetrics;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.time.Instant;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;

/**
 * First stage: gives the request its id (sent back as {@code x-amzn-RequestId}, the header AWS
 * SDKs read), opens its audit record, counts it in flight, pins the configuration snapshot, and
 * pauses the body until a later stage wants it. The record is written and the metrics recorded
 * from the end handler, so rejected and failed requests are counted exactly once too.
 */
public final class RequestTracking implements Handler<RoutingContext> {

  private final AuditSink audit;
  private final GatewayMetrics metrics;
  private final Supplier<GatewayState> state;

  public RequestTracking(AuditSink audit, GatewayMetrics metrics, Supplier<GatewayState> state) {
    this.audit = audit;
    this.metrics = metrics;
    this.state = state;
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    // Paused before any asynchronous stage, or the body would be lost (resumed by BodyReader).
    request.pause();
    AuditRecord record = open(request);
    RequestKeys.AUDIT.put(ctx, record);
    RequestKeys.STATE.put(ctx, state.get());
    ctx.response().putHeader(SageMakerHeaders.REQUEST_ID, record.requestId);
    metrics.requestStarted();
    ctx.addEndHandler(ar -> close(record, ctx));
    ctx.next();
  }

  /** Opens a record for a request; also used for requests rejected before routing. */
  public static AuditRecord open(HttpServerRequest request) {
    String sourceIp = request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
    return new AuditRecord(
        Instant.now(), System.nanoTime(), newRequestId(), sourceIp, request.method().name());
  }

  private void close(AuditRecord record, RoutingContext ctx) {
    record.status = ctx.response().getStatusCode();
    record.bytesIn = ctx.request().bytesRead();
    record.bytesOut = ctx.response().bytesWritten();
    record.backendEnded();
    record.totalNanos = System.nanoTime() - record.startNanos;
    metrics.requestEnded(record);
    audit.write(record);
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
