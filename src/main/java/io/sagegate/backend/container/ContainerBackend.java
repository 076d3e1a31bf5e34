package io.sagegate.backend.container;

import io.netty.handler.codec.DecoderException;
import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.CallDeadlines;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.backend.UpstreamBody;
import io.sagegate.backend.UpstreamBody.Overflow;
import io.sagegate.backend.UpstreamExchange;
import io.sagegate.backend.UpstreamFailures;
import io.sagegate.config.ContainerUrl;
import io.sagegate.config.EndpointConfig;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.eventstream.EventStreamFrames;
import io.sagegate.openai.OpenAiCall;
import io.sagegate.openai.OpenAiErrors;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves an endpoint from a model container that speaks the SageMaker container contract ({@code
 * GET /ping}, {@code POST /invocations}), over one keep-alive connection pool per endpoint.
 *
 * <p>Only the headers a SageMaker container receives are forwarded (Content-Type, Accept and the
 * {@code X-Amzn-SageMaker-*} request headers); nothing else of the caller's request reaches the
 * container. Failures follow SageMaker Runtime: the model's own error status becomes a ModelError
 * (424, with the model's message truncated to {@value #MAX_MODEL_MESSAGE_CHARS} characters); a
 * container that cannot be reached or answers something that is not HTTP a 502; one that does not
 * answer within {@code backend.timeout} a 504. The underlying exception text goes only to the log
 * and the audit reason, never into the caller's message.
 *
 * <p>Buffered answers are capped at {@value #MAX_RESPONSE_BYTES} bytes (SageMaker's limit).
 * Streamed answers are handed over as they arrive: the whole-call timeout covers only the wait for
 * the response head, after which an idle timeout between chunks applies.
 *
 * <p>The whole-call timeout is enforced by one {@link CallDeadlines} sweep per backend rather than
 * a Vert.x timer per call, so a call may time out up to {@link CallDeadlines#sweepPeriodMs(long)}
 * (5% of the timeout, between 5 and 250 ms) late.
 *
 * <p>Health: {@code GET /ping} at start and every {@value #HEALTH_INTERVAL_MS} ms; {@link
 * #healthy()} is false until the first check passes.
 */
public final class ContainerBackend implements Backend {

  /** SageMaker's limit for a buffered model response. */
  public static final long MAX_RESPONSE_BYTES = 6L * 1024 * 1024;

  /** How much of a model's error message is passed on (as SageMaker truncates it). */
  public static final int MAX_MODEL_MESSAGE_CHARS = 1024;

  /** How much of a model's error body is read at most to build the message. */
  static final int MAX_ERROR_BODY_BYTES = 16 * 1024;

  public static final long HEALTH_INTERVAL_MS = 10_000;

  /** Upper bound of one {@code /ping}; shorter when the backend timeout is shorter. */
  public static final long HEALTH_TIMEOUT_MS = 2_000;

  private static final Logger LOG = LoggerFactory.getLogger(ContainerBackend.class);

  private final Vertx vertx;
  private final EndpointConfig endpoint;
  private final String host;
  private final int port;
  private final String invocationsPath;
  private final String pingPath;

  /** Where the container serves OpenAI chat completions ({@code backend.openai.path}). */
  private final String chatPath;

  private final long timeoutMs;
  private final HttpClientAgent client;
  private final CallDeadlines deadlines;
  private final long healthTimer;
  private volatile boolean healthy;
  private volatile boolean closed;

  /**
   * @param baseUrl the container's root, {@code http://host:port} (a path prefix is kept)
   * @throws IllegalArgumentException when the URL is not an absolute http(s) URL with a host
   */
  public ContainerBackend(Vertx vertx, EndpointConfig endpoint, URI baseUrl) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.endpoint = Objects.requireNonNull(endpoint, "endpoint");
    Objects.requireNonNull(endpoint.backend(), "endpoint.backend");
    String field = "endpoints[" + endpoint.name() + "].backend.url";
    if (baseUrl == null) {
      throw new IllegalArgumentException(field + " is required");
    }
    ContainerUrl url;
    try {
      url = ContainerUrl.parse(baseUrl);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          field + " " + e.getMessage() + ", got " + ContainerUrl.redacted(baseUrl.toString()), e);
    }
    boolean ssl = url.ssl();
    this.host = url.host();
    this.port = url.port();
    String prefix = url.pathPrefix();
    this.invocationsPath = prefix + "/invocations";
    this.pingPath = prefix + "/ping";
    this.chatPath = prefix + endpoint.backend().openai().path();
    long connectMs = endpoint.backend().connectTimeout().toMillis();
    this.timeoutMs = endpoint.backend().timeout().toMillis();
    if (connectMs <= 0) {
      throw new IllegalArgumentException(
          "endpoints[" + endpoint.name() + "].backend.connectTimeout must be positive");
    }
    if (timeoutMs <= 0) {
      throw new IllegalArgumentException(
          "endpoints[" + endpoint.name() + "].backend.timeout must be positive");
    }
    HttpClientOptions options =
        new HttpClientOptions()
            .setKeepAlive(true)
            .setSsl(ssl)
            .setDefaultHost(host)
            .setDefaultPort(port)
            .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, connectMs));
    this.client =
        vertx
            .httpClientBuilder()
            .with(options)
            .with(new PoolOptions().setHttp1MaxSize(endpoint.backend().maxConnections()))
            // A broken answer fails the call it belongs to, which logs it with the endpoint and the
            // request id; without a handler here Vert.x would log it again, at ERROR, with neither.
            .withConnectHandler(
                conn ->
                    conn.exceptionHandler(
                        e ->
                            LOG.debug(
                                "endpoint {} model connection: {}", endpoint.name(), e.toString())))
            .build();
    this.deadlines = new CallDeadlines(vertx, timeoutMs);
    checkHealth();
    this.healthTimer = vertx.setPeriodic(HEALTH_INTERVAL_MS, id -> checkHealth());
  }

  @Override
  public Future<BackendResponse> invoke(Invocation invocation) {
    Call call = new Call(invocation, false);
    return call.start();
  }

  @Override
  public Future<BackendResponse> invokeStream(Invocation invocation) {
    Call call = new Call(invocation, true);
    return call.start();
  }

  /**
   * Forwards a chat completion to the container's OpenAI path ({@code backend.openai.path}, default
   * {@code /v1/chat/completions}); a stream's server-sent events are passed on as they arrive, not
   * framed as SageMaker events.
   */
  @Override
  public Future<BackendResponse> chatCompletions(Invocation invocation, OpenAiCall openAi) {
    Call call = new Call(invocation, openAi.stream(), openAi);
    return call.start();
  }

  @Override
  public boolean healthy() {
    return healthy;
  }

  /**
   * Pings the container now ({@code GET /ping}, 200 = healthy), records the result for {@link
   * #healthy()} and returns it. Never fails.
   */
  public Future<Boolean> checkHealth() {
    if (closed) {
      return Future.succeededFuture(false);
    }
    long pingTimeout = Math.min(HEALTH_TIMEOUT_MS, timeoutMs);
    RequestOptions ping =
        new RequestOptions()
            .setMethod(HttpMethod.GET)
            .setHost(host)
            .setPort(port)
            .setURI(pingPath)
            .setIdleTimeout(pingTimeout);
    Promise<Boolean> result = Promise.promise();
    long timer = vertx.setTimer(pingTimeout, id -> result.tryComplete(false));
    client
        .request(ping)
        .compose(HttpClientRequest::send)
        .compose(resp -> resp.end().map(v -> resp.statusCode() == 200))
        .onComplete(
            ar -> {
              vertx.cancelTimer(timer);
              result.tryComplete(ar.succeeded() && ar.result());
            });
    return result
        .future()
        .map(
            ok -> {
              if (closed) {
                return false;
              }
              if (ok != healthy) {
                LOG.info(
                    "endpoint {} model container is now {}",
                    endpoint.name(),
                    ok ? "healthy" : "unhealthy");
              }
              healthy = ok;
              return ok;
            });
  }

  @Override
  public Future<Void> close() {
    closed = true;
    healthy = false;
    vertx.cancelTimer(healthTimer);
    // The sweep stops only once the client is closed, which fails the calls still in flight.
    return client.close().andThen(ar -> deadlines.close());
  }

  /**
   * One call to {@code /invocations} or the OpenAI path: its deadline, its request and how it ends
   * ({@link UpstreamExchange}).
   */
  private final class Call extends UpstreamExchange<BackendResponse> {
    private final Invocation invocation;
    private final boolean stream;

    /** Set on the OpenAI-compatible path, null for {@code /invocations}. */
    private final @Nullable OpenAiCall openAi;

    Call(Invocation invocation, boolean stream) {
      this(invocation, stream, null);
    }

    Call(Invocation invocation, boolean stream, @Nullable OpenAiCall openAi) {
      super(deadlines);
      this.invocation = invocation;
      this.stream = stream;
      this.openAi = openAi;
    }

    Future<BackendResponse> start() {
      if (closed) {
        return Future.failedFuture(
            Errors.serviceUnavailable("Endpoint " + endpoint.name() + " is shutting down"));
      }
      // The whole-call timeout: until the answer is read (buffered) or its head arrived (stream).
      // It expires on this context, the one the request's callbacks run on. No request idle
      // timeout is set here: Vert.x runs it only until the response head, from when the request
      // is created, so with the same timeoutMs it can never cut a call shorter than this deadline
      // does, and it would cost a second timer per call.
      arm();
      abandonWhenCallerLeaves(invocation.callerGone(), endpoint.name(), "backend:caller_gone");
      RequestOptions options =
          new RequestOptions()
              .setMethod(HttpMethod.POST)
              .setHost(host)
              .setPort(port)
              .setURI(openAi != null ? chatPath : invocationsPath);
      if (openAi != null) {
        options.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        options.putHeader(HttpHeaders.ACCEPT, stream ? "text/event-stream" : "application/json");
      } else {
        copyRequestHeaders(invocation.headers(), options);
      }
      Buffer body = invocation.body() == null ? Buffer.buffer() : invocation.body();
      client
          .request(options)
          .compose(
              req -> {
                requestMade(req);
                return req.send(body);
              })
          .onSuccess(this::onResponse)
          .onFailure(this::failWith);
      return future();
    }

    private void onResponse(HttpClientResponse resp) {
      int status = resp.statusCode();
      if (status < 200 || status > 299) {
        UpstreamBody.read(resp, MAX_ERROR_BODY_BYTES, Overflow.TRUNCATE, this::tooLarge)
            .onSuccess(b -> failWith(modelError(status, b)))
            .onFailure(this::failWith);
        return;
      }
      if (openAi != null) {
        openAiResponse(resp);
        return;
      }
      MultiMap headers = responseHeaders(resp);
      if (stream) {
        // InvokeEndpointWithResponseStream names the model's media type with this header; the
        // body itself is SageMaker's event stream, so SDK clients read it as they read SageMaker.
        if (headers.contains(SageMakerHeaders.CONTENT_TYPE)) {
          headers.set(
              SageMakerHeaders.STREAM_CONTENT_TYPE, headers.get(SageMakerHeaders.CONTENT_TYPE));
        }
        headers.set(SageMakerHeaders.CONTENT_TYPE, EventStreamFrames.CONTENT_TYPE);
        resp.pause();
        HttpClientRequest req = resp.request();
        streamFrom(
            resp,
            timeoutMs,
            BackendResponse.streamed(
                200, headers, new PayloadPartStream(resp), () -> req.reset(), null));
        return;
      }
      readAnswer(resp)
          .onSuccess(
              b -> {
                disarm();
                succeed(BackendResponse.buffered(200, headers, b, null));
              })
          .onFailure(this::failWith);
    }

    /** A 2xx answer on the OpenAI path: JSON read whole, or the event stream passed on as it is. */
    private void openAiResponse(HttpClientResponse resp) {
      MultiMap headers = MultiMap.caseInsensitiveMultiMap();
      String contentType = resp.getHeader(HttpHeaders.CONTENT_TYPE);
      headers.set(
          HttpHeaders.CONTENT_TYPE,
          contentType != null ? contentType : stream ? "text/event-stream" : "application/json");
      if (stream) {
        headers.set(HttpHeaders.CACHE_CONTROL, "no-cache");
        resp.pause();
        HttpClientRequest req = resp.request();
        streamFrom(
            resp, timeoutMs, BackendResponse.streamed(200, headers, resp, () -> req.reset(), null));
        return;
      }
      readAnswer(resp)
          .onSuccess(
              b -> {
                disarm();
                if (!OpenAiErrors.isJsonObject(b)) {
                  failWith(
                      Errors.badGateway(
                              "model container for endpoint "
                                  + endpoint.name()
                                  + " answered with an unparseable chat completion")
                          .withAuditReason("backend:invalid_response"));
                  return;
                }
                succeed(BackendResponse.buffered(200, headers, b, null));
              })
          .onFailure(this::failWith);
    }

    private Future<Buffer> readAnswer(HttpClientResponse resp) {
      return UpstreamBody.read(resp, MAX_RESPONSE_BYTES, Overflow.FAIL, this::tooLarge);
    }

    private GatewayException tooLarge() {
      return Errors.badGateway(
              "model response exceeds the limit of "
                  + MAX_RESPONSE_BYTES
                  + " bytes for endpoint "
                  + endpoint.name())
          .withAuditReason("backend:response_too_large");
    }

    @Override
    protected GatewayException timedOut() {
      return classify(new TimeoutException("whole-call timeout"));
    }

    private void failWith(Throwable t) {
      disarm();
      if (ended()) {
        return;
      }
      GatewayException e = classify(t);
      // A model error was read whole, so its keep-alive connection stays usable; anything else
      // (timeout, broken connection) leaves the exchange unfinished and is reset.
      if (fail(e) && !(t instanceof GatewayException)) {
        abort();
      }
    }

    private GatewayException classify(Throwable t) {
      if (t instanceof GatewayException g) {
        return g;
      }
      String name = endpoint.name();
      String reason;
      GatewayException e;
      if (UpstreamFailures.isTimeout(t)) {
        reason = "backend:timeout";
        e =
            Errors.gatewayTimeout(
                "model container for endpoint "
                    + name
                    + " did not answer within "
                    + timeoutMs
                    + " ms");
      } else if (UpstreamFailures.isConnectFailure(t)) {
        reason =
            UpstreamFailures.isConnectTimeout(t)
                ? "backend:connect_timeout"
                : "backend:connect_refused";
        e = Errors.badGateway("model container for endpoint " + name + " could not be reached");
      } else if (t instanceof DecoderException || t instanceof IllegalArgumentException) {
        reason = "backend:invalid_response";
        e =
            Errors.badGateway(
                "model container for endpoint " + name + " answered with an invalid response");
      } else if (t instanceof HttpClosedException) {
        reason = "backend:connection_closed";
        e =
            Errors.badGateway(
                "model container for endpoint "
                    + name
                    + " closed the connection without a valid response");
      } else if (t instanceof IOException) {
        reason = "backend:connection_reset";
        e = Errors.badGateway("model container for endpoint " + name + " could not be reached");
      } else {
        reason = "backend:error";
        e = Errors.badGateway("model container for endpoint " + name + " could not be reached");
      }
      // Infrastructure detail goes to the log and the audit reason only, never to the caller.
      LOG.warn(
          "endpoint {} request {} {}: {}: {}",
          name,
          invocation.requestId(),
          reason,
          t.getClass().getName(),
          t.getMessage());
      return e.withAuditReason(reason);
    }

    private GatewayException modelError(int status, Buffer body) {
      if (openAi != null) {
        return OpenAiErrors.upstream(endpoint.name(), status, body.getBytes())
            .withAuditReason("backend:model_error_" + status);
      }
      String message = body.toString(StandardCharsets.UTF_8);
      if (message.length() > MAX_MODEL_MESSAGE_CHARS) {
        message = message.substring(0, MAX_MODEL_MESSAGE_CHARS);
      }
      return Errors.modelError(status, message, null)
          .withAuditReason("backend:model_error_" + status);
    }
  }

  private static void copyRequestHeaders(InvocationHeaders h, RequestOptions options) {
    if (h == null) {
      return;
    }
    put(options, SageMakerHeaders.CONTENT_TYPE, h.contentType());
    put(options, SageMakerHeaders.ACCEPT, h.accept());
    put(options, SageMakerHeaders.CUSTOM_ATTRIBUTES, h.customAttributes());
    put(options, SageMakerHeaders.TARGET_MODEL, h.targetModel());
    put(options, SageMakerHeaders.INFERENCE_ID, h.inferenceId());
    put(options, SageMakerHeaders.ENABLE_EXPLANATIONS, h.enableExplanations());
    put(options, SageMakerHeaders.SESSION_ID, h.sessionId());
  }

  private static void put(RequestOptions options, String name, @Nullable String value) {
    if (value != null) {
      options.putHeader(name, value);
    }
  }

  /** The SageMaker Runtime response headers made from the container's answer, and nothing else. */
  private MultiMap responseHeaders(HttpClientResponse resp) {
    MultiMap out = MultiMap.caseInsensitiveMultiMap();
    String contentType = resp.getHeader(HttpHeaders.CONTENT_TYPE);
    if (contentType != null) {
      out.set(SageMakerHeaders.CONTENT_TYPE, contentType);
    }
    out.set(SageMakerHeaders.INVOKED_PRODUCTION_VARIANT, endpoint.backend().variant());
    copy(resp, out, SageMakerHeaders.CUSTOM_ATTRIBUTES, SageMakerHeaders.CUSTOM_ATTRIBUTES);
    // A container opens a session by answering X-Amzn-SageMaker-Session-Id; SageMaker tells the
    // caller about it as X-Amzn-SageMaker-New-Session-Id.
    copy(resp, out, SageMakerHeaders.NEW_SESSION_ID, SageMakerHeaders.NEW_SESSION_ID);
    if (!out.contains(SageMakerHeaders.NEW_SESSION_ID)) {
      copy(resp, out, SageMakerHeaders.SESSION_ID, SageMakerHeaders.NEW_SESSION_ID);
    }
    copy(resp, out, SageMakerHeaders.CLOSED_SESSION_ID, SageMakerHeaders.CLOSED_SESSION_ID);
    return out;
  }

  private static void copy(HttpClientResponse resp, MultiMap out, String from, String to) {
    String value = resp.getHeader(from);
    if (value != null) {
      out.set(to, value);
    }
  }

  @Override
  public String toString() {
    return "ContainerBackend[" + endpoint.name() + " -> " + host + ":" + port + "]";
  }
}
