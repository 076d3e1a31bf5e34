package io.sagegate.aws;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagegate.authz.Action;
import io.sagegate.authz.S3Location;
import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.CallDeadlines;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.backend.UpstreamFailures;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.ServerSettings;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.eventstream.EventStreamFrames;
import io.sagegate.openai.OpenAiCall;
import io.sagegate.openai.OpenAiErrors;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;

/**
 * The {@code sagemaker} backend: calls SageMaker Runtime's three operations for one endpoint, under
 * the caller's scoped STS session ({@link StsCredentialsProvider}).
 *
 * <p><b>Design decision.</b> Requests go out through Vert.x's own {@link HttpClient} (shared per
 * {@link SageMakerBackendFactory}, a keep-alive pool of {@value
 * SageMakerBackendFactory#MAX_CONNECTIONS} connections with read/idle timeouts above SageMaker's 60
 * s model timeout; the SDK's Netty defaults of 50 connections and 30 s are too low for that) and
 * are signed per request with the SDK's {@link AwsV4HttpSigner} (signing name {@code sagemaker}).
 * Not the SDK's SageMakerRuntimeAsyncClient: with Vert.x the response stream is relayed on the
 * event loop without thread hops, and its raw event-stream bytes pass through frame by frame
 * instead of being decoded into SDK events and encoded again.
 *
 * <p><b>Payload hash.</b> AwsV4HttpSigner (SDK 2.40) has no public way to take a caller-computed
 * SHA-256: its precomputed-checksum path ({@code Checksummer.forPrecomputed256Checksum}) is
 * internal and only used for the fixed markers {@code UNSIGNED-PAYLOAD} and {@code STREAMING-*},
 * and a pre-set {@code x-amz-content-sha256} header is not read back as the hash (only {@code
 * PAYLOAD_SIGNING_ENABLED=false} over HTTPS skips hashing, sending {@code UNSIGNED-PAYLOAD}, which
 * SageMaker Runtime does not document). So the signer hashes the body, exactly once, from a {@link
 * ContentStreamProvider} over the body bytes; for bodies over {@value #SIGN_OFF_LOOP_BYTES} bytes
 * signing runs in {@code executeBlocking} so the event loop never hashes megabytes.
 *
 * <p><b>Retries</b> only where safe: a refused connection and SageMaker's ServiceUnavailable,
 * InternalFailure and InternalDependencyException, at most {@value #MAX_RETRIES} times with a short
 * backoff, never for ModelError or other 4xx, and never once a response byte went to the caller.
 */
public final class SageMakerBackend implements Backend {

  public static final String SIGNING_NAME = "sagemaker";
  public static final int SIGN_OFF_LOOP_BYTES = 256 * 1024;
  public static final int MAX_RETRIES = 2;
  public static final long MAX_RESPONSE_BYTES = 32L * 1024 * 1024;
  static final long[] BACKOFF_MS = {50, 200};

  private static final Logger LOG = LoggerFactory.getLogger(SageMakerBackend.class);
  private static final AwsV4HttpSigner SIGNER = AwsV4HttpSigner.create();
  private static final List<String> RELAY_INVOKE =
      List.of(
          SageMakerHeaders.CONTENT_TYPE,
          SageMakerHeaders.INVOKED_PRODUCTION_VARIANT,
          SageMakerHeaders.CUSTOM_ATTRIBUTES,
          SageMakerHeaders.NEW_SESSION_ID,
          SageMakerHeaders.CLOSED_SESSION_ID);
  private static final List<String> RELAY_INVOKE_STREAM =
      List.of(
          SageMakerHeaders.STREAM_CONTENT_TYPE,
          SageMakerHeaders.INVOKED_PRODUCTION_VARIANT,
          SageMakerHeaders.CUSTOM_ATTRIBUTES,
          SageMakerHeaders.NEW_SESSION_ID,
          SageMakerHeaders.CLOSED_SESSION_ID);
  private static final List<String> RELAY_INVOKE_ASYNC =
      List.of(SageMakerHeaders.OUTPUT_LOCATION, SageMakerHeaders.FAILURE_LOCATION);

  private final Vertx vertx;
  private final HttpClient client;
  private final URI runtime;
  private final Region region;
  private final EndpointConfig endpoint;
  private final Duration idleTimeout;
  private final long connectTimeoutMillis;
  private final long idleTimeoutMillis;
  private final Route invokeRoute;
  private final Route streamRoute;
  private final Route asyncRoute;
  private final CallDeadlines deadlines;
  private final BearerTokens tokens;

  /**
   * SageMaker Runtime's base URL without a trailing slash, and the endpoint's name encoded for a
   * path.
   */
  private final String base;

  private final String encodedName;

  /**
   * What one operation's calls share, computed once per backend rather than per request (the URL,
   * its encoding and parsing were a measurable part of the per-request cost): the unsigned request
   * without headers, and the target as {@link RequestOptions#setAbsoluteURI} parses it.
   */
  private record Route(
      String operation, SdkHttpRequest template, String host, int port, boolean ssl, String uri) {}

  /**
   * @param client the shared client of {@link SageMakerBackendFactory}
   * @param runtime SageMaker Runtime's base URL ({@link AwsClients#sagemakerRuntimeEndpoint()})
   */
  public SageMakerBackend(
      Vertx vertx, HttpClient client, URI runtime, Region region, EndpointConfig endpoint) {
    this(vertx, client, runtime, region, endpoint, new BearerTokens(java.time.Clock.systemUTC()));
  }

  /**
   * @param tokens the bearer tokens of the OpenAI-compatible path, shared by a factory's backends
   */
  public SageMakerBackend(
      Vertx vertx,
      HttpClient client,
      URI runtime,
      Region region,
      EndpointConfig endpoint,
      BearerTokens tokens) {
    this.tokens = tokens;
    this.vertx = vertx;
    this.client = client;
    this.runtime = runtime;
    this.region = region;
    this.endpoint = endpoint;
    // The model has up to the configured timeout (default 60 s, SageMaker's) to answer; allow
    // SageMaker a quarter on top (75 s by default) to turn a model timeout into its own error.
    Duration t = endpoint.backend().timeout();
    this.idleTimeout = t.plus(t.dividedBy(4));
    this.idleTimeoutMillis = idleTimeout.toMillis();
    this.connectTimeoutMillis = endpoint.backend().connectTimeout().toMillis();
    String base = runtime.toString().replaceAll("/+$", "");
    String name = URLEncoder.encode(endpoint.name(), StandardCharsets.UTF_8);
    this.invokeRoute = route(base, name, "invocations");
    this.streamRoute = route(base, name, "invocations-response-stream");
    this.asyncRoute = route(base, name, "async-invocations");
    this.base = base;
    this.encodedName = name;
    this.deadlines = new CallDeadlines(vertx, idleTimeoutMillis);
  }

  /** A 2xx answer from SageMaker Runtime: its (paused) response, and its body when read whole. */
  private record Answer(HttpClientResponse response, Buffer body) {}

  @Override
  public Future<Void> close() {
    deadlines.close();
    return Future.succeededFuture();
  }

  private static Route route(String base, String encodedName, String operation) {
    URI uri = URI.create(base + "/endpoints/" + encodedName + "/" + operation);
    SdkHttpRequest template = SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(uri).build();
    // Exactly what setAbsoluteURI(signed.getUri().toString()) used to set per request: signing
    // adds headers only, so the signed request's URI is the template's.
    RequestOptions parsed = new RequestOptions().setAbsoluteURI(template.getUri().toString());
    return new Route(
        operation, template, parsed.getHost(), parsed.getPort(), parsed.isSsl(), parsed.getURI());
  }

  @Override
  public Future<BackendResponse> invoke(Invocation invocation) {
    return send(invocation, invokeRoute, true)
        .map(
            answer -> {
              HttpClientResponse resp = answer.response();
              MultiMap headers = relayHeaders(resp, Action.INVOKE);
              return BackendResponse.buffered(
                  200, headers, answer.body(), resp.getHeader(SageMakerHeaders.REQUEST_ID));
            });
  }

  @Override
  public Future<BackendResponse> invokeStream(Invocation invocation) {
    return send(invocation, streamRoute, false)
        .map(
            answer -> {
              HttpClientResponse resp = answer.response();
              MultiMap headers = relayHeaders(resp, Action.INVOKE_STREAM);
              headers.set(SageMakerHeaders.CONTENT_TYPE, EventStreamFrames.CONTENT_TYPE);
              HttpClientRequest request = resp.request();
              Runnable reset = () -> request.reset();
              EventStreamRelay relay = new EventStreamRelay(resp, reset, endpoint.name());
              Runnable cancel =
                  () -> {
                    relay.cancel();
                    request.reset();
                  };
              return BackendResponse.streamed(
                  200, headers, relay, cancel, resp.getHeader(SageMakerHeaders.REQUEST_ID));
            });
  }

  @Override
  public Future<BackendResponse> invokeAsync(Invocation invocation) {
    String location = invocation.headers().inputLocation();
    if (location == null) {
      return Future.failedFuture(
          Errors.validation(
              "Header "
                  + SageMakerHeaders.INPUT_LOCATION
                  + " is required for asynchronous inference"));
    }
    // Decided already, before any STS call (AccessControl: the rule's inputLocations condition and
    // the endpoint's prefixes); checked again here as a second line, so this backend never sends
    // SageMaker a location outside them whoever calls it.
    List<String> rulePrefixes =
        invocation.decision() == null || invocation.decision().rule() == null
            ? List.of()
            : invocation.decision().rule().conditions().inputLocations();
    if (!S3Location.isUnderAny(location, endpoint.backend().asyncInputPrefixes())
        || (!rulePrefixes.isEmpty() && !S3Location.isUnderAny(location, rulePrefixes))) {
      return Future.failedFuture(
          new GatewayException(
                  403,
                  Errors.ACCESS_DENIED,
                  "Input location "
                      + location
                      + " is not under an allowed prefix for endpoint "
                      + endpoint.name())
              .withAuditReason("async:input_location_not_allowed"));
    }
    return send(invocation, asyncRoute, true)
        .compose(
            answer -> {
              HttpClientResponse resp = answer.response();
              Buffer body = answer.body();
              JsonNode json = SageMakerErrors.parse(body);
              String inferenceId = json == null ? null : json.path("InferenceId").asText(null);
              String output = resp.getHeader(SageMakerHeaders.OUTPUT_LOCATION);
              if (inferenceId == null || output == null) {
                LOG.warn(
                    "SageMaker's async answer for endpoint {} lacks InferenceId or OutputLocation",
                    endpoint.name());
                return Future.failedFuture(
                    Errors.badGateway(
                            "SageMaker Runtime returned an unexpected answer for endpoint "
                                + endpoint.name())
                        .withAuditReason("sagemaker:unparseable_async"));
              }
              MultiMap headers = relayHeaders(resp, Action.INVOKE_ASYNC);
              headers.set(SageMakerHeaders.CONTENT_TYPE, "application/json");
              Buffer out = new JsonObject().put("InferenceId", inferenceId).toBuffer();
              return Future.succeededFuture(
                  BackendResponse.buffered(
                      202, headers, out, resp.getHeader(SageMakerHeaders.REQUEST_ID)));
            });
  }

  /**
   * A chat completion on SageMaker's OpenAI-compatible path ({@code
   * /endpoints/{name}[/inference-components/{c}]/openai/v1/chat/completions}), authenticated by a
   * bearer token minted from the caller's session ({@link BearerTokens}), not by SigV4; the
   * caller's own token never leaves the gateway. A 401 or 403 mints the token again once and
   * retries. Upstream error text is relayed only sanitized ({@link OpenAiErrors}).
   */
  @Override
  public Future<BackendResponse> chatCompletions(Invocation invocation, OpenAiCall call) {
    if (invocation.credentials() == null || invocation.credentials().isNone()) {
      LOG.warn("endpoint {}: sagemaker backend called without credentials", endpoint.name());
      return Future.failedFuture(Errors.internal().withAuditReason("sagemaker:no_credentials"));
    }
    RequestOptions target =
        new RequestOptions()
            .setAbsoluteURI(
                base
                    + "/endpoints/"
                    + encodedName
                    + (call.component() == null
                        ? ""
                        : "/inference-components/"
                            + URLEncoder.encode(call.component(), StandardCharsets.UTF_8))
                    + "/openai/v1/chat/completions");
    Promise<BackendResponse> result = Promise.promise();
    if (Vertx.currentContext() == null) {
      vertx
          .getOrCreateContext()
          .runOnContext(v -> openAiAttempt(invocation, call, target, false, result));
    } else {
      openAiAttempt(invocation, call, target, false, result);
    }
    return result.future();
  }

  /**
   * One exchange on the OpenAI path, under the same whole-call deadline as {@link Attempt}: from
   * sending until the whole answer is read, or for a stream until its head (the gaps between its
   * events are then bounded by the request's idle timeout). A re-mint's retry is an exchange of its
   * own, with a deadline of its own.
   */
  private final class OpenAiExchange extends CallDeadlines.Entry {
    private final Promise<BackendResponse> result;
    private HttpClientRequest request;

    OpenAiExchange(Promise<BackendResponse> result) {
      this.result = result;
    }

    @Override
    protected void expired() {
      if (result.tryFail(
              transportError(
                  new TimeoutException("no complete answer within " + idleTimeoutMillis + " ms"),
                  false))
          && request != null) {
        request.reset();
      }
    }

    void done() {
      deadlines.disarm(this);
    }
  }

  private void openAiAttempt(
      Invocation invocation,
      OpenAiCall call,
      RequestOptions target,
      boolean again,
      Promise<BackendResponse> result) {
    String token;
    try {
      token = tokens.token(invocation.credentials(), region);
    } catch (RuntimeException e) {
      LOG.warn("endpoint {}: could not mint a bearer token: {}", endpoint.name(), e.toString());
      result.tryFail(Errors.internal().withAuditReason("sagemaker:bearer_token_failed"));
      return;
    }
    // No idle timeout here: the exchange's deadline covers the wait (as for InvokeEndpoint).
    RequestOptions options =
        new RequestOptions(target)
            .setMethod(HttpMethod.POST)
            .setConnectTimeout(connectTimeoutMillis)
            .putHeader(HttpHeaders.AUTHORIZATION, "Bearer " + token)
            .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
            .putHeader(
                HttpHeaders.ACCEPT, call.stream() ? "text/event-stream" : "application/json");
    Buffer body = invocation.body() == null ? Buffer.buffer() : invocation.body();
    OpenAiExchange exchange = new OpenAiExchange(result);
    deadlines.arm(exchange);
    result.future().onComplete(v -> exchange.done());
    Future<Void> callerGone = invocation.callerGone();
    if (callerGone != null) {
      callerGone.onComplete(
          v -> {
            boolean cut =
                result.tryFail(
                    Errors.badGateway(
                            "The caller went away before endpoint " + endpoint.name() + " answered")
                        .withAuditReason("sagemaker:caller_gone"));
            // This exchange's request, whichever attempt failed the result (resetting an ended one
            // does nothing).
            if ((cut || again) && exchange.request != null) {
              exchange.request.reset();
            }
          });
    }
    client
        .request(options)
        .compose(
            req -> {
              exchange.request = req;
              if (result.future().isComplete()) {
                // The deadline passed (or the caller went) while a connection was being found.
                req.reset();
              }
              return req.send(body);
            })
        .onComplete(
            ar -> {
              if (ar.failed()) {
                exchange.done();
                if (!result.future().isComplete()) {
                  result.tryFail(
                      transportError(ar.cause(), ar.cause() instanceof ConnectException));
                }
                return;
              }
              HttpClientResponse resp = ar.result();
              resp.pause();
              int status = resp.statusCode();
              String requestId = resp.getHeader(SageMakerHeaders.REQUEST_ID);
              if (status / 100 == 2) {
                MultiMap headers = MultiMap.caseInsensitiveMultiMap();
                String type = resp.getHeader(HttpHeaders.CONTENT_TYPE);
                headers.set(
                    HttpHeaders.CONTENT_TYPE,
                    type != null ? type : call.stream() ? "text/event-stream" : "application/json");
                if (call.stream()) {
                  exchange.done();
                  HttpClientRequest req = resp.request();
                  // From the head on, a stream is bounded by the gaps between its events.
                  req.idleTimeout(idleTimeoutMillis);
                  headers.set(HttpHeaders.CACHE_CONTROL, "no-cache");
                  if (!result.tryComplete(
                      BackendResponse.streamed(200, headers, resp, () -> req.reset(), requestId))) {
                    req.reset();
                  }
                  return;
                }
                readBody(resp)
                    .onComplete(
                        b -> {
                          exchange.done();
                          if (result.future().isComplete()) {
                            return;
                          }
                          if (b.failed()) {
                            result.tryFail(
                                b.cause() instanceof GatewayException g
                                    ? g
                                    : transportError(b.cause(), false));
                          } else if (!OpenAiErrors.isJsonObject(b.result())) {
                            LOG.warn(
                                "SageMaker's OpenAI answer for endpoint {} is not a JSON object (request id {})",
                                endpoint.name(),
                                requestId);
                            result.tryFail(
                                Errors.badGateway(
                                        "SageMaker Runtime returned an unparseable answer for endpoint "
                                            + endpoint.name())
                                    .withAuditReason("sagemaker:unparseable_200"));
                          } else {
                            result.tryComplete(
                                BackendResponse.buffered(200, headers, b.result(), requestId));
                          }
                        });
                return;
              }
              readBody(resp)
                  .onComplete(
                      b -> {
                        exchange.done();
                        if (result.future().isComplete()) {
                          return;
                        }
                        if (b.failed()) {
                          result.tryFail(
                              b.cause() instanceof GatewayException g
                                  ? g
                                  : transportError(b.cause(), false));
                          return;
                        }
                        if ((status == 401 || status == 403) && !again) {
                          // A token SageMaker no longer takes (its session renewed, a clock skew):
                          // once more
                          // with a fresh one.
                          LOG.info(
                              "SageMaker refused the bearer token for endpoint {} ({}); minting another",
                              endpoint.name(),
                              status);
                          tokens.invalidate(invocation.credentials());
                          openAiAttempt(invocation, call, target, true, result);
                          return;
                        }
                        result.tryFail(
                            openAiError(status, resp.headers(), b.result(), call.stream()));
                      });
            });
  }

  /** An error answer on the OpenAI path, in either shape (SageMaker's or OpenAI's envelope). */
  private GatewayException openAiError(int status, MultiMap headers, Buffer body, boolean stream) {
    String requestId = headers.get(SageMakerHeaders.REQUEST_ID);
    String message = OpenAiErrors.upstreamMessage(body.getBytes());
    if (OpenAiErrors.noCapacity(message)) {
      LOG.info(
          "Endpoint {} has no capacity now (request id {}): answered 503 with Retry-After",
          endpoint.name(),
          requestId);
      return OpenAiErrors.upstream(endpoint.name(), status, body.getBytes());
    }
    JsonNode json = SageMakerErrors.parse(body);
    String action = (stream ? Action.INVOKE_STREAM : Action.INVOKE).ruleName();
    if (headers.get(SageMakerHeaders.ERROR_TYPE) != null || (json != null && json.has("__type"))) {
      GatewayException mapped = SageMakerErrors.map(endpoint.name(), action, status, headers, body);
      if (Errors.MODEL_ERROR.equals(mapped.errorType())) {
        // The container's text on this path is relayed only sanitized (no account ids, console
        // URLs or stack traces), and in SageMaker's shape it may come without OriginalMessage.
        String original = json == null ? "" : json.path("OriginalMessage").asText("");
        int originalStatus = json == null ? 0 : json.path("OriginalStatusCode").asInt(0);
        return Errors.modelError(
                originalStatus != 0 ? originalStatus : status,
                OpenAiErrors.sanitize(original.isEmpty() ? message : original),
                null)
            .withAuditReason(mapped.auditReason());
      }
      return mapped;
    }
    if (json == null) {
      LOG.warn(
          "SageMaker answered {} for endpoint {} with an unparseable body (request id {})",
          status,
          endpoint.name(),
          requestId);
      return Errors.badGateway(
              "SageMaker Runtime returned an unparseable answer for endpoint " + endpoint.name())
          .withAuditReason("sagemaker:unparseable_" + status);
    }
    if (status == 401 || status == 403) {
      LOG.warn(
          "SageMaker refused the gateway's bearer token for endpoint {} twice ({}, request id {}): {}; does the"
              + " invoke role allow sagemaker:CallWithBearerToken and sagemaker:InvokeEndpoint on it?",
          endpoint.name(),
          status,
          requestId,
          message);
      return Errors.accessDenied(endpoint.name(), action)
          .withAuditReason("sagemaker:bearer_refused_" + status);
    }
    if (status == 429) {
      return new GatewayException(
              429,
              "ThrottlingException",
              "SageMaker Runtime throttled requests for endpoint "
                  + endpoint.name()
                  + ": "
                  + message)
          .withAuditReason("sagemaker:throttled");
    }
    if (status >= 500) {
      LOG.warn(
          "SageMaker answered {} for endpoint {} (request id {}): {}",
          status,
          endpoint.name(),
          requestId,
          message);
      return (status == 503
              ? Errors.serviceUnavailable(
                  "SageMaker Runtime is unavailable for endpoint " + endpoint.name())
              : Errors.badGateway(
                  "SageMaker Runtime failed for endpoint " + endpoint.name() + ": " + message))
          .withAuditReason("sagemaker:openai_" + status);
    }
    return Errors.modelError(status, message, null)
        .withAuditReason("sagemaker:model_error_" + status);
  }

  /**
   * Signs and sends; succeeds with the 2xx answer (its body read when {@code whole}, else the
   * response paused at its head), fails with the mapped error after the allowed retries.
   */
  private Future<Answer> send(Invocation invocation, Route route, boolean whole) {
    if (invocation.credentials() == null || invocation.credentials().isNone()) {
      LOG.warn("endpoint {}: sagemaker backend called without credentials", endpoint.name());
      return Future.failedFuture(Errors.internal().withAuditReason("sagemaker:no_credentials"));
    }
    Buffer body = invocation.body() == null ? Buffer.buffer() : invocation.body();
    if (body.length() > ServerSettings.SAGEMAKER_MAX_BODY_BYTES) {
      return Future.failedFuture(Errors.payloadTooLarge(ServerSettings.SAGEMAKER_MAX_BODY_BYTES));
    }
    SdkHttpRequest unsigned = unsignedRequest(invocation, route);
    if (body.length() > SIGN_OFF_LOOP_BYTES) {
      // The body's copy for the signer (up to 6 MiB) is made on the worker too, not on the loop.
      return vertx
          .executeBlocking(() -> sign(unsigned, body.getBytes(), invocation), false)
          .compose(
              s ->
                  attempt(
                      s.request(),
                      route,
                      body,
                      invocation.action(),
                      whole,
                      0,
                      invocation.callerGone()));
    }
    SdkHttpRequest signed = sign(unsigned, body.getBytes(), invocation).request();
    try {
      return attempt(signed, route, body, invocation.action(), whole, 0, invocation.callerGone());
    } catch (RuntimeException e) {
      // As when attempt ran inside Future.compose: what it throws fails the returned future.
      return Future.failedFuture(e);
    }
  }

  /**
   * The backend's whole per-request preparation of a call with a small body, on the calling thread:
   * the request built, signed and turned into Vert.x request options, exactly as {@code send} and
   * {@code attempt} do it. Public so the AWS path benchmark measures this code and not a copy of
   * it; the backend itself does not call it.
   */
  public RequestOptions prepare(Invocation invocation, String operation) {
    Route route =
        switch (operation) {
          case "invocations" -> invokeRoute;
          case "invocations-response-stream" -> streamRoute;
          case "async-invocations" -> asyncRoute;
          default -> throw new IllegalArgumentException("unknown operation " + operation);
        };
    Buffer body = invocation.body() == null ? Buffer.buffer() : invocation.body();
    return requestOptions(
        sign(unsignedRequest(invocation, route), body.getBytes(), invocation).request(), route);
  }

  private static SdkHttpRequest unsignedRequest(Invocation invocation, Route route) {
    return requestHeaders(route.template().toBuilder(), invocation.headers(), invocation.action())
        .build();
  }

  private SignedRequest sign(SdkHttpRequest request, byte[] body, Invocation invocation) {
    return sign(request, body, invocation.credentials().credentials(), region);
  }

  /**
   * Signs one SageMaker Runtime request exactly as this backend does (SigV4, signing name {@value
   * #SIGNING_NAME}, the body hashed by the signer). Public so the signing benchmark measures this
   * code and not a copy of it. Hashes {@code body} on the calling thread: the backend calls it off
   * the event loop for bodies over {@value #SIGN_OFF_LOOP_BYTES} bytes.
   */
  public static SignedRequest sign(
      SdkHttpRequest request, byte[] body, AwsCredentialsIdentity credentials, Region region) {
    return SIGNER.sign(
        r ->
            r.identity(credentials)
                .request(request)
                .payload(ContentStreamProvider.fromByteArrayUnsafe(body))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, SIGNING_NAME)
                .putProperty(AwsV4HttpSigner.REGION_NAME, region.id()));
  }

  /**
   * One exchange with SageMaker Runtime, under one deadline of {@code idleTimeout} from sending
   * until the whole answer is read (or, for a stream, until its head; the gaps between events are
   * then bounded by the request's idle timeout). The deadline is one of the backend's {@link
   * CallDeadlines} rather than a Vert.x timer per request.
   */
  private final class Attempt extends CallDeadlines.Entry {
    private final Promise<Answer> promise = Promise.promise();
    private HttpClientRequest request;

    @Override
    protected void expired() {
      if (promise.tryFail(
              transportError(
                  new TimeoutException("no complete answer within " + idleTimeoutMillis + " ms"),
                  false))
          && request != null) {
        request.reset();
      }
    }

    void done() {
      deadlines.disarm(this);
    }
  }

  private Future<Answer> attempt(
      SdkHttpRequest signed,
      Route route,
      Buffer body,
      Action action,
      boolean whole,
      int retry,
      Future<Void> callerGone) {
    RequestOptions options = requestOptions(signed, route);
    Attempt attempt = new Attempt();
    // Issue the request from a Vert.x context, so every callback below runs on that context's
    // thread in order and the response is paused before any of its body can be delivered.
    if (Vertx.currentContext() == null) {
      vertx
          .getOrCreateContext()
          .runOnContext(
              v ->
                  exchange(
                      attempt, options, route, body, action, whole, signed, retry, callerGone));
    } else {
      exchange(attempt, options, route, body, action, whole, signed, retry, callerGone);
    }
    return attempt.promise.future();
  }

  private RequestOptions requestOptions(SdkHttpRequest signed, Route route) {
    // Host, port, TLS and path precomputed (Route) instead of setAbsoluteURI, which parsed a
    // java.net.URL per request. No idle timeout here: the attempt's deadline covers the wait.
    RequestOptions options =
        new RequestOptions()
            .setMethod(HttpMethod.POST)
            .setURI(route.uri())
            .setPort(route.port())
            .setSsl(route.ssl())
            .setHost(route.host())
            .setConnectTimeout(connectTimeoutMillis);
    // What addHeader fills lazily, filled here without iterating an entrySet of lists.
    MultiMap headers = HttpHeaders.headers();
    signed.forEachHeader(
        (name, values) -> {
          if (!name.equalsIgnoreCase("Host")) {
            for (String v : values) {
              headers.add(name, v);
            }
          }
        });
    return options.setHeaders(headers);
  }

  private void exchange(
      Attempt attempt,
      RequestOptions options,
      Route route,
      Buffer body,
      Action action,
      boolean whole,
      SdkHttpRequest signed,
      int retry,
      Future<Void> callerGone) {
    deadlines.arm(attempt);
    if (callerGone != null) {
      // The caller went away before the answer: the call is abandoned (the request reset, so
      // SageMaker sees the connection go), and not retried.
      callerGone.onComplete(
          v -> {
            if (attempt.promise.tryFail(
                Errors.badGateway(
                        "The caller went away before endpoint " + endpoint.name() + " answered")
                    .withAuditReason("sagemaker:caller_gone"))) {
              attempt.done();
              if (attempt.request != null) {
                attempt.request.reset();
              }
            }
          });
    }
    // Plain listeners rather than compose + andThen + onComplete: the same order of events (the
    // response is paused first, then handled) with two Future stages fewer per request.
    client
        .request(options)
        .onComplete(
            ar -> {
              if (ar.failed()) {
                handle(attempt, ar, route, body, action, whole, signed, retry, callerGone);
                return;
              }
              HttpClientRequest req = ar.result();
              attempt.request = req;
              if (attempt.promise.future().isComplete()) {
                // The deadline passed while a connection was being found.
                req.reset();
                return;
              }
              req.response()
                  .onComplete(
                      r -> {
                        if (r.succeeded()) {
                          // Pause before anything else can run.
                          r.result().pause();
                        }
                        handle(attempt, r, route, body, action, whole, signed, retry, callerGone);
                      });
              req.end(body);
            });
  }

  private void handle(
      Attempt attempt,
      AsyncResult<?> ar,
      Route route,
      Buffer body,
      Action action,
      boolean whole,
      SdkHttpRequest signed,
      int retry,
      Future<Void> callerGone) {
    Promise<Answer> promise = attempt.promise;
    if (ar.failed()) {
      attempt.done();
      if (promise.future().isComplete()) {
        return;
      }
      Throwable t = ar.cause();
      boolean connect = UpstreamFailures.isConnectFailure(t);
      if (connect && retry < MAX_RETRIES) {
        retryLater(signed, route, body, action, whole, retry, promise, callerGone);
        return;
      }
      promise.tryFail(transportError(t, connect));
      return;
    }
    HttpClientResponse resp = (HttpClientResponse) ar.result();
    if (resp.statusCode() / 100 == 2) {
      if (!whole) {
        attempt.done();
        // From the head on, a stream is bounded by the gaps between its events.
        resp.request().idleTimeout(idleTimeoutMillis);
        if (!promise.tryComplete(new Answer(resp, null))) {
          resp.request().reset();
        }
        return;
      }
      readBody(resp)
          .onComplete(
              b -> {
                attempt.done();
                if (b.failed()) {
                  failReading(promise, b.cause());
                } else {
                  promise.tryComplete(new Answer(resp, b.result()));
                }
              });
      return;
    }
    readBody(resp)
        .onComplete(
            b -> {
              attempt.done();
              if (promise.future().isComplete()) {
                return;
              }
              if (b.failed()) {
                failReading(promise, b.cause());
                return;
              }
              GatewayException e =
                  SageMakerErrors.map(
                      endpoint.name(),
                      action.iamAction(),
                      resp.statusCode(),
                      resp.headers(),
                      b.result());
              String code =
                  e.auditReason() == null ? "" : e.auditReason().substring("sagemaker:".length());
              if (SageMakerErrors.RETRYABLE.contains(code) && retry < MAX_RETRIES) {
                retryLater(signed, route, body, action, whole, retry, promise, callerGone);
              } else {
                promise.tryFail(e);
              }
            });
  }

  private void retryLater(
      SdkHttpRequest signed,
      Route route,
      Buffer body,
      Action action,
      boolean whole,
      int retry,
      Promise<Answer> promise,
      Future<Void> callerGone) {
    vertx.setTimer(
        BACKOFF_MS[retry],
        id ->
            attempt(signed, route, body, action, whole, retry + 1, callerGone).onComplete(promise));
  }

  /**
   * Fails the call with what went wrong while its answer was read, unless it has already ended:
   * after a deadline, the reset that ends the read is ours and is not logged a second time.
   */
  private void failReading(Promise<Answer> promise, Throwable t) {
    if (!promise.future().isComplete()) {
      promise.tryFail(t instanceof GatewayException g ? g : transportError(t, false));
    }
  }

  private GatewayException transportError(Throwable t, boolean connect) {
    LOG.warn("SageMaker Runtime call for endpoint {} failed: {}", endpoint.name(), t.toString());
    if (!connect && UpstreamFailures.isTimeout(t)) {
      return Errors.gatewayTimeout(
              "SageMaker Runtime did not answer in time for endpoint " + endpoint.name())
          .withAuditReason("sagemaker:timeout");
    }
    return Errors.badGateway("Could not reach SageMaker Runtime for endpoint " + endpoint.name())
        .withAuditReason(connect ? "sagemaker:connect_failed" : "sagemaker:connection_failed");
  }

  /** Reads a whole (non-streamed) answer, bounded by {@value #MAX_RESPONSE_BYTES} bytes. */
  private Future<Buffer> readBody(HttpClientResponse resp) {
    Promise<Buffer> promise = Promise.promise();
    Body acc = new Body();
    resp.handler(
        chunk -> {
          if (promise.future().isComplete()) {
            return;
          }
          if (acc.length() + chunk.length() > MAX_RESPONSE_BYTES) {
            resp.request().reset();
            promise.tryFail(
                Errors.badGateway(
                        "SageMaker Runtime's answer for endpoint "
                            + endpoint.name()
                            + " is too large")
                    .withAuditReason("sagemaker:response_too_large"));
            return;
          }
          acc.add(chunk);
        });
    resp.exceptionHandler(promise::tryFail);
    resp.endHandler(v -> promise.tryComplete(acc.buffer()));
    resp.resume();
    return promise.future();
  }

  /**
   * A body as its chunks arrive. The first chunk is kept as it is (Vert.x hands each chunk over in
   * a buffer of its own), so the usual one-chunk answer is neither allocated again nor copied; from
   * the second chunk on they are appended to a new buffer.
   */
  private static final class Body {
    private Buffer buffer;
    private boolean owned;

    int length() {
      return buffer == null ? 0 : buffer.length();
    }

    void add(Buffer chunk) {
      if (buffer == null) {
        buffer = chunk;
      } else {
        if (!owned) {
          buffer = Buffer.buffer(buffer.length() + chunk.length()).appendBuffer(buffer);
          owned = true;
        }
        buffer.appendBuffer(chunk);
      }
    }

    Buffer buffer() {
      return buffer == null ? Buffer.buffer() : buffer;
    }
  }

  /** The request headers SageMaker Runtime takes for {@code action}, as botocore names them. */
  public static SdkHttpRequest.Builder requestHeaders(
      SdkHttpRequest.Builder b, InvocationHeaders h, Action action) {
    boolean stream = action == Action.INVOKE_STREAM;
    boolean async = action == Action.INVOKE_ASYNC;
    put(
        b,
        async ? SageMakerHeaders.STREAM_CONTENT_TYPE : SageMakerHeaders.CONTENT_TYPE,
        h.contentType());
    put(b, stream || async ? SageMakerHeaders.STREAM_ACCEPT : SageMakerHeaders.ACCEPT, h.accept());
    put(b, SageMakerHeaders.CUSTOM_ATTRIBUTES, h.customAttributes());
    put(b, SageMakerHeaders.INFERENCE_ID, h.inferenceId());
    if (!async) {
      put(b, SageMakerHeaders.TARGET_VARIANT, h.targetVariant());
      put(b, SageMakerHeaders.TARGET_CONTAINER_HOSTNAME, h.targetContainerHostname());
      put(b, SageMakerHeaders.INFERENCE_COMPONENT, h.inferenceComponent());
      put(b, SageMakerHeaders.SESSION_ID, h.sessionId());
    }
    if (action == Action.INVOKE) {
      put(b, SageMakerHeaders.TARGET_MODEL, h.targetModel());
      put(b, SageMakerHeaders.ENABLE_EXPLANATIONS, h.enableExplanations());
    }
    if (async) {
      put(b, SageMakerHeaders.INPUT_LOCATION, h.inputLocation());
      put(
          b,
          SageMakerHeaders.REQUEST_TTL_SECONDS,
          h.requestTtlSeconds() == null ? null : h.requestTtlSeconds().toString());
      put(
          b,
          SageMakerHeaders.INVOCATION_TIMEOUT_SECONDS,
          h.invocationTimeoutSeconds() == null ? null : h.invocationTimeoutSeconds().toString());
      put(b, SageMakerHeaders.S3_OUTPUT_PATH_EXTENSION, h.s3OutputPathExtension());
      put(b, SageMakerHeaders.FILENAME, h.filename());
    }
    return b;
  }

  private static void put(SdkHttpRequest.Builder b, String name, String value) {
    if (value != null) {
      b.putHeader(name, value);
    }
  }

  /** SageMaker's response headers for {@code action}, to relay to the caller. */
  static MultiMap relayHeaders(HttpClientResponse resp, Action action) {
    MultiMap out = MultiMap.caseInsensitiveMultiMap();
    List<String> names =
        switch (action) {
          case INVOKE -> RELAY_INVOKE;
          case INVOKE_STREAM -> RELAY_INVOKE_STREAM;
          case INVOKE_ASYNC -> RELAY_INVOKE_ASYNC;
        };
    for (String name : names) {
      String v = resp.getHeader(name);
      if (v != null) {
        out.set(name, v);
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "SageMakerBackend[" + endpoint.name() + " at " + runtime + "]";
  }
}
