package io.sagegate.logging;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import org.jspecify.annotations.Nullable;

/**
 * The id of the request the current Vert.x context serves, for the logs. Vert.x handles each HTTP
 * request on a context of its own (a duplicate of the connection's event-loop context), and the
 * callbacks of what the request starts (backend calls, timers) run on that same context; so an id
 * stored there names the request on every log line written while any of its work runs, whichever
 * requests the event loop interleaves.
 */
public final class RequestLogContext {

  private static final Object KEY = new Object();

  /** Names the request that the current context serves; does nothing off a Vert.x context. */
  public static void set(String requestId) {
    Context ctx = Vertx.currentContext();
    if (ctx instanceof ContextInternal internal && internal.isDuplicate()) {
      internal.localContextData().put(KEY, requestId);
    }
  }

  /** The id of the request the current context serves, or null. */
  public static @Nullable String current() {
    Context ctx = Vertx.currentContext();
    if (ctx instanceof ContextInternal internal && internal.isDuplicate()) {
      Object id = internal.localContextData().get(KEY);
      return id instanceof String s ? s : null;
    }
    return null;
  }

  private RequestLogContext() {}
}
