package io.sagegate.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.DecoderResultProvider;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObjectDecoder;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.net.impl.ConnectionBase;
import java.lang.reflect.Field;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * What Vert.x's HTTP/1.x server offers no hook for, done at the Netty level of each traffic
 * connection, around Netty's request decoder:
 *
 * <ul>
 *   <li>a request's head (request line and headers) must arrive within {@code headerTimeout} of its
 *       first byte, or it is answered 408 and the connection closed (a slowloris);
 *   <li>an HTTP version other than 1.0 or 1.1 (Vert.x answers those with a bare 501 that echoes the
 *       version, past the server's invalid request handler), and a header with an empty name (which
 *       Netty's decoder accepts), are marked as decoding failures, so that they reach the gateway's
 *       invalid request handler and are answered there, in SageMaker's error shape;
 *   <li>a malformed chunked body (bad size, overflow, broken framing) is marked with the error the
 *       gateway answers it with, so the request's stages can answer it before Vert.x closes the
 *       connection;
 *   <li>a caller that hangs up before its request line is complete is reported, so it too has its
 *       audit record;
 *   <li>before Vert.x closes a connection idle for {@code server.idleTimeout}, the request in
 *       progress on it, if any, is told, so it is answered (and audited) as the gateway's doing,
 *       not as a caller who left.
 * </ul>
 *
 * <p>HTTP/2 connections are not guarded: their framing is checked by Netty's HTTP/2 codec.
 */
public final class HttpGuard {

  /** Events the gateway answers and audits. */
  interface Events {
    /**
     * A request's head did not arrive in time; returns the answer to send as it stands on the wire
     * (an HTTP/1.1 response), and is told how many of its bytes were written.
     */
    RawAnswer headTimedOut(HttpConnection connection);

    /** The caller closed the connection after a part of a request line, before any request. */
    void leftMidHead(HttpConnection connection);
  }

  /**
   * A response written as bytes (no request object exists for it); {@code written} is told the
   * bytes sent.
   */
  record RawAnswer(byte[] bytes, java.util.function.LongConsumer written) {}

  private static final AttributeKey<HttpGuard> KEY = AttributeKey.valueOf("sagegate.httpGuard");
  private static final String DECODER = "httpDecoder";
  private static final String CLOCK = "sagegateHeadClock";
  private static final String CHECK = "sagegateHeadCheck";
  private static final String VERTX = "handler";

  private final HttpConnection connection;
  private final long headTimeoutNanos;
  private final Events events;

  /** Between requests: the next bytes are a request's head. */
  private boolean awaitingHead = true;

  private long headBytes;
  private boolean timedOut;

  /** The gateway (Vert.x) is closing the connection. */
  private boolean closing;

  /** The head clock, while it runs. */
  private @Nullable ScheduledFuture<?> timer;

  /**
   * Run before the gateway closes the connection (idle): the request in progress answers. Null
   * while no request is in progress.
   */
  private @Nullable Consumer<GatewayException> inProgress;

  private HttpGuard(HttpConnection connection, Duration headTimeout, Events events) {
    this.connection = connection;
    this.headTimeoutNanos = headTimeout.toNanos();
    this.events = events;
  }

  /** Installs the guard on an HTTP/1.x connection (not HTTP/2, whose codec frames itself). */
  static void install(HttpConnection connection, Duration headTimeout, Events events) {
    if (!(connection instanceof ConnectionBase base)) {
      return;
    }
    Channel channel = base.channel();
    if (channel.pipeline().get(DECODER) == null) {
      return; // HTTP/2 (prior knowledge): no HTTP/1.x decoder to guard
    }
    HttpGuard guard = new HttpGuard(connection, headTimeout, events);
    channel.attr(KEY).set(guard);
    channel.pipeline().addBefore(DECODER, CLOCK, guard.new HeadClock());
    // Right before Vert.x's own handler, past the idle handler: it sees the decoded request and
    // the idle event, and Vert.x's close passes it.
    channel.pipeline().addBefore(VERTX, CHECK, guard.new HeadCheck());
  }

  /**
   * Registers what the request now in progress on {@code connection} does if the gateway ends it
   * (an idle connection): it is failed with the given error, answered and audited as such. Cleared
   * with null once the request has ended.
   */
  public static void whileInProgress(
      HttpConnection connection, @Nullable Consumer<GatewayException> onGatewayEnd) {
    if (connection instanceof ConnectionBase base) {
      HttpGuard guard = base.channel().attr(KEY).get();
      // Not once the connection was upgraded to HTTP/2: its streams are not the guard's.
      if (guard != null && guard.connection == connection) {
        guard.inProgress = onGatewayEnd;
      }
    }
  }

  /**
   * Where raw answers are written: before the decoder (and the encoder), straight to the wire. Set
   * once the head clock is in the channel's pipeline.
   */
  private @Nullable ChannelHandlerContext clockContext;

  private void startClock() {
    if (timer == null && clockContext != null) {
      ChannelHandlerContext ctx = clockContext;
      timer =
          ctx.executor().schedule(() -> headTimedOut(ctx), headTimeoutNanos, TimeUnit.NANOSECONDS);
    }
  }

  private void stopClock() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  private void headTimedOut(ChannelHandlerContext ctx) {
    timer = null;
    if (!awaitingHead || timedOut || !ctx.channel().isActive()) {
      return;
    }
    timedOut = true;
    RawAnswer answer = events.headTimedOut(connection);
    // Written from before the decoder, past Vert.x: no request object exists for this answer.
    ctx.writeAndFlush(Unpooled.wrappedBuffer(answer.bytes()))
        .addListener(
            f -> {
              answer.written().accept(f.isSuccess() ? answer.bytes().length : 0);
              ctx.close();
            });
  }

  /**
   * Before the decoder: sees the bytes as they arrive, so the clock starts with a head's first
   * byte.
   */
  private final class HeadClock extends ChannelInboundHandlerAdapter {
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      clockContext = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (ctx.pipeline().get(DECODER) == null) {
        // Upgraded to HTTP/2 (h2c): nothing left to guard.
        stopClock();
        ctx.pipeline().remove(this);
        if (ctx.pipeline().get(CHECK) != null) {
          ctx.pipeline().remove(CHECK);
        }
        ctx.fireChannelRead(msg);
        return;
      }
      if (timedOut) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (awaitingHead && msg instanceof ByteBuf bytes && bytes.isReadable()) {
        startClock();
        headBytes += bytes.readableBytes();
      }
      ctx.fireChannelRead(msg);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      stopClock();
      // The decoder runs first: a request cut off in its headers reaches the gateway as a failed
      // request, one cut off in its request line does not, and is reported here.
      ctx.fireChannelInactive();
      if (awaitingHead && headBytes > 0 && !timedOut && !closing) {
        awaitingHead = false;
        events.leftMidHead(connection);
      }
    }
  }

  /**
   * After the decoder: sees each request's head and body parts as decoded, and flushes what was
   * written before a close that Vert.x starts itself.
   */
  private final class HeadCheck extends ChannelDuplexHandler {
    /**
     * A request (or body) that failed decoding has passed: the connection carries nothing after it.
     */
    private boolean failedHead;

    private boolean dropping;

    /** A request ended during the current read. */
    private boolean requestEnded;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (timedOut || dropping) {
        // Answered already; what the decoder makes of the rest is not a request.
        ReferenceCountUtil.release(msg);
        return;
      }
      if (msg instanceof HttpRequest request) {
        if (failedHead) {
          // Pipelined behind a request that is answered and then closes the connection.
          dropping = true;
          ReferenceCountUtil.release(msg);
          return;
        }
        awaitingHead = false;
        headBytes = 0;
        stopClock();
        check(request);
        failedHead = request.decoderResult().isFailure();
      }
      if (msg instanceof HttpContent content
          && !(msg instanceof HttpRequest)
          && content.decoderResult().isFailure()
          && !(content.decoderResult().cause() instanceof GatewayException)) {
        ((DecoderResultProvider) content)
            .setDecoderResult(
                DecoderResult.failure(malformedBody(content.decoderResult().cause())));
      }
      if (msg instanceof LastHttpContent last && last.decoderResult().isSuccess() && !failedHead) {
        awaitingHead = true;
        requestEnded = true;
      } else if (msg instanceof HttpContent content && content.decoderResult().isFailure()) {
        failedHead = true; // a broken body: Vert.x closes the connection after it
      }
      ctx.fireChannelRead(msg);
    }

    /**
     * A read that ended a request may have brought the start of the next one too (pipelined, or
     * read before the guard was in place): the decoder is inside it, and its clock starts now. An
     * idle keep-alive connection has none, and is left to the idle timeout.
     */
    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (requestEnded) {
        requestEnded = false;
        if (awaitingHead && !timedOut && midHead(ctx)) {
          startClock();
          headBytes++;
        }
      }
      ctx.fireChannelReadComplete();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      Consumer<GatewayException> request = inProgress;
      if (evt instanceof IdleStateEvent && request != null) {
        inProgress = null;
        // Vert.x closes the connection on this event (flushing first): the request is answered
        // now, so its record says the gateway ended it, not that its caller left.
        request.accept(
            new GatewayException(
                    408,
                    Errors.REQUEST_TIMEOUT,
                    "Nothing was received or sent on the connection within the idle timeout")
                .withAuditReason("http:idle_timeout"));
      }
      ctx.fireUserEventTriggered(evt);
    }

    /**
     * Vert.x closes a connection from its own handler's context after a decoding failure or when it
     * is idle, which passes by its flush-before-close: the answer written just before (the 400 to a
     * malformed body, say) would be dropped unsent. It is flushed here first.
     */
    @Override
    public void close(ChannelHandlerContext ctx, ChannelPromise promise) {
      closing = true; // what the gateway closes on is not a caller who left
      ctx.flush();
      ctx.close(promise);
    }
  }

  /**
   * Netty's {@code HttpObjectDecoder.currentState}: whether the decoder is inside a message (it
   * takes a head's lines in as they come, so no bytes wait in its buffer). Private, and nothing
   * else tells; read once per request that ends in the same read as another begins.
   */
  private static final @Nullable Field DECODER_STATE = decoderStateField();

  private static @Nullable Field decoderStateField() {
    try {
      Field field = HttpObjectDecoder.class.getDeclaredField("currentState");
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return null; // then only bytes read after a request's end start the clock
    }
  }

  /** Whether the decoder holds the start of a request (a part of its request line or headers). */
  private static boolean midHead(ChannelHandlerContext ctx) {
    ChannelHandler decoder = ctx.pipeline().get(DECODER);
    if (DECODER_STATE == null || !(decoder instanceof HttpObjectDecoder)) {
      return false;
    }
    try {
      Object state = DECODER_STATE.get(decoder);
      return state instanceof Enum<?> e
          && ("READ_INITIAL".equals(e.name()) || "READ_HEADER".equals(e.name()));
    } catch (ReflectiveOperationException | RuntimeException e) {
      return false;
    }
  }

  /**
   * Marks a head Vert.x would otherwise answer with a bare 501 (a version) or accept (an empty
   * name).
   */
  private static void check(HttpRequest request) {
    if (request.decoderResult().isFailure()) {
      return;
    }
    HttpVersion version = request.protocolVersion();
    GatewayException error = null;
    if (!version.equals(HttpVersion.HTTP_1_1) && !version.equals(HttpVersion.HTTP_1_0)) {
      error =
          "HTTP".equals(version.protocolName())
              ? new GatewayException(
                      505,
                      Errors.HTTP_VERSION_NOT_SUPPORTED,
                      "HTTP version "
                          + version.majorVersion()
                          + "."
                          + version.minorVersion()
                          + " is not supported; use HTTP/1.1")
                  .withAuditReason("http:unsupported_version")
              : Errors.validation("The request line's protocol is not HTTP; use HTTP/1.1")
                  .withAuditReason("http:malformed_version");
      // Answered as HTTP/1.1: Vert.x answers in the request's version, which would echo it.
      request.setProtocolVersion(HttpVersion.HTTP_1_1);
    } else {
      for (Map.Entry<String, String> header : request.headers()) {
        if (header.getKey().isBlank()) {
          error =
              Errors.validation("The request has a header with an empty header name")
                  .withAuditReason("http:invalid_request");
          break;
        }
      }
    }
    if (error != null) {
      request.setDecoderResult(DecoderResult.failure(error));
    }
  }

  private static GatewayException malformedBody(Throwable cause) {
    String what =
        cause instanceof NumberFormatException
            ? "a chunk size is not a hexadecimal number, or is too large"
            : "its chunk framing is broken";
    return Errors.validation("The chunked request body is malformed: " + what)
        .withAuditReason("http:malformed_body");
  }
}
