package io.sagegate.testsupport;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.NetServer;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.NetSocket;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A misbehaving model container for tests: a real HTTP server on a free port speaking the SageMaker
 * container contract, switchable between answering well, answering errors, hanging, streaming chunk
 * by chunk under the test's control, refusing connections, answering garbage and answering too
 * much. It records every request it receives, so a test can prove the backend was really called and
 * what was (not) forwarded.
 *
 * <p>All server state lives on one Vert.x context; the public methods may be called from any
 * thread.
 */
public final class ContainerStub {

  /** What the stub does with the next requests. */
  public enum Kind {
    OK,
    ERROR,
    HANG,
    SLOW_STREAM,
    REFUSE,
    GARBAGE,
    BIG
  }

  /**
   * A mode with its parameters: {@code status}/{@code body} for ERROR, {@code count} chunks for
   * SLOW_STREAM, {@code count} bytes for BIG ({@code withLength}: with a Content-Length header
   * instead of chunked).
   */
  public record Mode(Kind kind, int status, String body, int count, boolean withLength) {
    /** 200 application/json echoing the request, with its custom attributes header. */
    public static Mode ok() {
      return new Mode(Kind.OK, 200, null, 0, false);
    }

    public static Mode error(int status, String body) {
      return new Mode(Kind.ERROR, status, body, 0, false);
    }

    /** Reads the request and never answers. */
    public static Mode hang() {
      return new Mode(Kind.HANG, 0, null, 0, false);
    }

    /**
     * 200 chunked: the head at once, then {@code chunk-i\n} for each {@link #releaseNextChunk()},
     * ending after {@code chunks} chunks.
     */
    public static Mode slowStream(int chunks) {
      return new Mode(Kind.SLOW_STREAM, 200, null, chunks, false);
    }

    /** Nothing listens on the port: connections are refused. */
    public static Mode refuse() {
      return new Mode(Kind.REFUSE, 0, null, 0, false);
    }

    /** A raw TCP server answering the request with bytes that are not HTTP, then closing. */
    public static Mode garbage() {
      return new Mode(Kind.GARBAGE, 0, null, 0, false);
    }

    /** 200 with {@code bytes} bytes, chunked. */
    public static Mode big(int bytes) {
      return new Mode(Kind.BIG, 200, null, bytes, false);
    }

    /** 200 with {@code bytes} bytes and a Content-Length header. */
    public static Mode bigWithLength(int bytes) {
      return new Mode(Kind.BIG, 200, null, bytes, true);
    }
  }

  /** One request the stub received. */
  public record Received(String method, String path, MultiMap headers, Buffer body) {}

  public static final String GARBAGE_BYTES = "this is not http at all\r\n\r\n";

  /** A header the stub answers with that a backend must not pass on to callers. */
  public static final String INTERNAL_HEADER = "X-Stub-Internal";

  public static final String SESSION_ID = "stub-session-1";
  private static final int BIND_ATTEMPTS = 100;
  private static final long BIND_RETRY_MS = 10;

  private final Vertx vertx;
  private final Context context;
  private final AtomicReference<Mode> mode = new AtomicReference<>(Mode.ok());
  private final List<Received> received = new CopyOnWriteArrayList<>();
  private final AtomicReference<Promise<Received>> firstInvocation =
      new AtomicReference<>(Promise.promise());
  private final AtomicInteger released = new AtomicInteger();
  private final AtomicReference<Promise<Void>> aborted = new AtomicReference<>(Promise.promise());
  private HttpServer http;
  private NetServer net;
  private int port;
  private HttpServerResponse streaming;
  private int written;

  private ContainerStub(Vertx vertx, Context context) {
    this.vertx = vertx;
    this.context = context;
  }

  /** Starts a stub on a free port, in mode OK. */
  public static Future<ContainerStub> start(Vertx vertx) {
    Context context = vertx.getOrCreateContext();
    ContainerStub stub = new ContainerStub(vertx, context);
    return stub.onContext(() -> stub.listenHttp(0)).map(v -> stub);
  }

  public int port() {
    return port;
  }

  /** The container root, {@code http://127.0.0.1:port}. */
  public URI url() {
    return URI.create("http://127.0.0.1:" + port);
  }

  public Mode mode() {
    return mode.get();
  }

  /** Switches the mode; completes once the right server (or none) listens on the port. */
  public Future<Void> mode(Mode next) {
    return onContext(
        () -> {
          mode.set(next);
          released.set(0);
          written = 0;
          streaming = null;
          aborted.set(Promise.promise());
          firstInvocation.set(Promise.promise());
          // The HTTP server stays up across HTTP modes; only REFUSE and GARBAGE take the port.
          return switch (next.kind()) {
            case REFUSE -> Future.all(closeHttp(), closeNet()).mapEmpty();
            case GARBAGE -> closeHttp().compose(v -> rebind(this::listenGarbage, BIND_ATTEMPTS));
            default -> closeNet().compose(v -> rebind(() -> listenHttp(port), BIND_ATTEMPTS));
          };
        });
  }

  /** Every request received so far, in order. */
  public List<Received> received() {
    return List.copyOf(received);
  }

  /**
   * Completes with the first {@code POST /invocations} the stub receives in the current mode (set
   * by {@link #mode(Mode)} before the call, so no request can slip past it).
   */
  public Future<Received> invocationReceived() {
    return firstInvocation.get().future();
  }

  /** SLOW_STREAM: lets the stub write one more chunk (now, or as soon as the request arrives). */
  public void releaseNextChunk() {
    context.runOnContext(
        v -> {
          released.incrementAndGet();
          flush();
        });
  }

  /** How many chunks the test has released so far in this mode. */
  public int releasedChunks() {
    return released.get();
  }

  /**
   * Completes when, in the current mode, a request's connection was closed before the stub finished
   * answering (HANG, SLOW_STREAM, BIG): the proof that the caller aborted upstream.
   */
  public Future<Void> requestAborted() {
    return aborted.get().future();
  }

  public Future<Void> close() {
    return onContext(() -> Future.all(closeHttp(), closeNet()).mapEmpty());
  }

  private Future<Void> onContext(java.util.function.Supplier<Future<Void>> action) {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> action.get().onComplete(done));
    return done.future();
  }

  /**
   * Listens again on the stub's port. A closed server's future may complete a moment before the OS
   * releases the port, so a bind refused with "address in use" is retried a few times.
   */
  private Future<Void> rebind(java.util.function.Supplier<Future<Void>> listen, int attempts) {
    return listen
        .get()
        .recover(
            err -> {
              if (!(err instanceof java.net.BindException) || attempts <= 1) {
                return Future.failedFuture(err);
              }
              Promise<Void> retried = Promise.promise();
              vertx.setTimer(BIND_RETRY_MS, id -> rebind(listen, attempts - 1).onComplete(retried));
              return retried.future();
            });
  }

  private Future<Void> listenHttp(int onPort) {
    if (http != null) {
      return Future.succeededFuture();
    }
    HttpServer server =
        vertx.createHttpServer(
            new HttpServerOptions().setHost("127.0.0.1").setPort(onPort).setReuseAddress(true));
    server.requestHandler(this::handle);
    return server
        .listen()
        .map(
            s -> {
              http = s;
              port = s.actualPort();
              return null;
            });
  }

  private Future<Void> listenGarbage() {
    if (net != null) {
      return Future.succeededFuture();
    }
    NetServer server =
        vertx.createNetServer(
            new NetServerOptions().setHost("127.0.0.1").setPort(port).setReuseAddress(true));
    server.connectHandler(this::garbage);
    return server
        .listen()
        .map(
            s -> {
              net = s;
              return null;
            });
  }

  private Future<Void> closeHttp() {
    HttpServer s = http;
    http = null;
    return s == null ? Future.succeededFuture() : s.close();
  }

  private Future<Void> closeNet() {
    NetServer s = net;
    net = null;
    return s == null ? Future.succeededFuture() : s.close();
  }

  private void garbage(NetSocket socket) {
    socket.handler(
        data -> {
          socket.handler(null);
          received.add(new Received(null, null, MultiMap.caseInsensitiveMultiMap(), data));
          socket.write(GARBAGE_BYTES).onComplete(ar -> socket.close());
        });
  }

  private void handle(HttpServerRequest req) {
    req.body()
        .onSuccess(
            body -> {
              MultiMap headers = MultiMap.caseInsensitiveMultiMap().addAll(req.headers());
              Received r = new Received(req.method().name(), req.path(), headers, body);
              received.add(r);
              if ("/invocations".equals(r.path())) {
                firstInvocation.get().tryComplete(r);
              }
              answer(req, r, mode.get());
            });
  }

  private void answer(HttpServerRequest req, Received r, Mode m) {
    HttpServerResponse resp = req.response();
    Promise<Void> abortedNow = aborted.get();
    resp.closeHandler(
        v -> {
          if (!resp.ended() && !"/ping".equals(r.path())) {
            abortedNow.tryComplete();
          }
        });
    switch (m.kind()) {
      case OK -> {
        if ("/ping".equals(r.path())) {
          resp.end("{\"status\":\"ok\"}");
          return;
        }
        JsonObject echo =
            new JsonObject()
                .put("path", r.path())
                .put("contentType", r.headers().get("Content-Type"))
                .put("accept", r.headers().get("Accept"))
                .put("echo", r.body().toString());
        String attributes = r.headers().get("X-Amzn-SageMaker-Custom-Attributes");
        if (attributes != null) {
          resp.putHeader("X-Amzn-SageMaker-Custom-Attributes", attributes);
        }
        if ("NEW_SESSION".equals(r.headers().get("X-Amzn-SageMaker-Session-Id"))) {
          resp.putHeader("X-Amzn-SageMaker-Session-Id", SESSION_ID);
        }
        resp.putHeader(INTERNAL_HEADER, "must-not-leak")
            .putHeader("Content-Type", "application/json")
            .end(echo.encode());
      }
      case ERROR ->
          resp.setStatusCode(m.status())
              .putHeader("Content-Type", "text/plain")
              .end(m.body() == null ? "" : m.body());
      case HANG -> {
        // never answers
      }
      case SLOW_STREAM -> {
        if ("/ping".equals(r.path())) {
          resp.end("{\"status\":\"ok\"}");
          return;
        }
        resp.setChunked(true).putHeader("Content-Type", "text/plain");
        resp.writeHead();
        streaming = resp;
        flush();
      }
      case BIG -> {
        Buffer all = Buffer.buffer(new byte[m.count()]);
        resp.putHeader("Content-Type", "application/octet-stream");
        if (m.withLength()) {
          resp.end(all);
        } else {
          resp.setChunked(true);
          int step = 64 * 1024;
          for (int i = 0; i < all.length(); i += step) {
            resp.write(all.slice(i, Math.min(all.length(), i + step)));
          }
          resp.end();
        }
      }
      default -> resp.setStatusCode(500).end();
    }
  }

  private void flush() {
    HttpServerResponse resp = streaming;
    Mode m = mode.get();
    if (resp == null || m.kind() != Kind.SLOW_STREAM || resp.closed()) {
      return;
    }
    while (written < released.get() && written < m.count()) {
      resp.write("chunk-" + written + "\n");
      written++;
    }
    if (written == m.count()) {
      streaming = null;
      resp.end();
    }
  }
}
