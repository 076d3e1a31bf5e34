package io.sagegate.gateway;

import io.sagegate.audit.AuditRecord;
import io.sagegate.backend.Backend;
import io.sagegate.error.Errors;
import io.sagegate.gateway.stage.RequestTracking;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The calls in flight, each with the configuration snapshot it is served with. A reload that
 * retires a backend hands it here; it is closed once no call in flight uses it (the calls are
 * bounded by their own timeouts), so a stream in progress on an endpoint a reload changed finishes
 * on the backend it started with. At shutdown the gateway waits here for the calls to finish and
 * ends those still open at the deadline ({@link #endAll}).
 */
final class InFlightCalls implements RequestTracking.Calls {

  private static final Logger LOG = LoggerFactory.getLogger(InFlightCalls.class);

  /** Audit reason of a call the gateway ended because it was shutting down. */
  static final String SHUTDOWN_REASON = "gateway:shutdown";

  private final Supplier<GatewayState> state;

  /** Each call in flight and its snapshot. */
  private final ConcurrentHashMap<Exchange, GatewayState> open = new ConcurrentHashMap<>();

  /** Calls the gateway ended at shutdown: their records say so, whatever else happened. */
  private final Set<Exchange> ended = ConcurrentHashMap.newKeySet();

  private final List<Backend> retiring = new CopyOnWriteArrayList<>();
  private final AtomicLong closedCount = new AtomicLong();
  private volatile boolean draining;

  InFlightCalls(Supplier<GatewayState> state) {
    this.state = state;
  }

  @Override
  public GatewayState opened(Exchange ex) {
    // Registered with its snapshot, then the snapshot read again: a reload that swapped it in
    // between may not have seen the call, so the call takes the new snapshot (which has none of
    // the backends that reload retired); one that swaps it later sees the call registered.
    GatewayState s = state.get();
    open.put(ex, s);
    GatewayState now = state.get();
    if (now != s) {
      s = now;
      open.put(ex, s);
    }
    if (draining && ex.request().version() != io.vertx.core.http.HttpVersion.HTTP_2) {
      // Keep-alive callers go elsewhere for their next call. HTTP/1.x only: on HTTP/2 a
      // Connection header makes the response malformed (RFC 9113 8.2.2) and the client resets
      // the stream; h2 callers learn of the drain from the GOAWAY the listener's shutdown sends.
      ex.response().putHeader("Connection", "close");
    }
    return s;
  }

  @Override
  public void closed(Exchange ex) {
    GatewayState served = open.remove(ex);
    closedCount.incrementAndGet();
    AuditRecord audit = ex.auditIfOpened();
    if (ended.remove(ex) && audit != null) {
      audit.error(Errors.SERVICE_UNAVAILABLE, SHUTDOWN_REASON);
    }
    // Only a call served with an older snapshot can have held a retiring backend back; calls on
    // the current one cost no scan of the calls in flight.
    if (!retiring.isEmpty() && served != null && usesRetiring(served)) {
      closeUnused();
    }
  }

  private boolean usesRetiring(GatewayState served) {
    for (Backend b : retiring) {
      if (served.backends().containsValue(b)) {
        return true;
      }
    }
    return false;
  }

  /** Closes {@code backends} once no call in flight uses them (at once if none does). */
  void retire(List<Backend> backends) {
    retiring.addAll(backends);
    closeUnused();
  }

  /** Backends retired by reloads and not yet closed (calls still use them). */
  List<Backend> retiring() {
    return List.copyOf(retiring);
  }

  private void closeUnused() {
    for (Backend b : retiring) {
      if (!inUse(b) && retiring.remove(b)) {
        try {
          b.close();
        } catch (RuntimeException e) {
          LOG.warn("Closing a retired backend failed: {}", e.toString());
        }
      }
    }
  }

  private boolean inUse(Backend b) {
    for (GatewayState s : open.values()) {
      if (s.backends().containsValue(b)) {
        return true;
      }
    }
    return false;
  }

  void draining(boolean on) {
    draining = on;
  }

  int size() {
    return open.size();
  }

  /** Calls closed since start. */
  long closedCount() {
    return closedCount.get();
  }

  /**
   * Ends every call still in flight, on its own event loop: one with no answer yet gets 503
   * ServiceUnavailable, a stream already under way has its connection closed; the backend call is
   * cancelled, and the record says {@code gateway:shutdown}. Returns how many it ended.
   */
  int endAll() {
    int n = 0;
    for (Exchange ex : open.keySet()) {
      n++;
      ended.add(ex);
      ex.onLoop(
          () -> {
            ex.fail(
                Errors.serviceUnavailable("The gateway is shutting down")
                    .withAuditReason(SHUTDOWN_REASON));
            ex.callerGone();
            if (!ex.response().ended() && ex.request().connection() != null) {
              ex.request().connection().close();
            }
          });
    }
    return n;
  }
}
