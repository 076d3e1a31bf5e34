package io.sagegate.aws;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagegate.authz.Action;
import io.sagegate.aws.RuntimeCall.Answer;
import io.sagegate.aws.SageMakerRequests.ChatTarget;
import io.sagegate.aws.SageMakerRequests.Route;
import io.sagegate.backend.Backend;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.CallDeadlines;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.ServerSettings;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.eventstream.EventStreamFrames;
import io.sagegate.match.S3Location;
import io.sagegate.openai.OpenAiCall;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.regions.Region;

/**
 * The {@code sagemaker} backend: calls SageMaker Runtime's operations for one endpoint, under the
 * caller's scoped STS session ({@link StsCredentialsProvider}). It reads as a call flows: the
 * request mapped onto the wire API ({@link SageMakerRequests}), signed ({@link RuntimeSigner}),
 * sent with retries where safe ({@link RuntimeCall}; the OpenAI-compatible path with a bearer
 * token, {@link OpenAiExchange}), and the answer mapped back (here, and {@link SageMakerErrors}).
 *
 * <p><b>Design decision.</b> Requests go out through Vert.x's own {@link HttpClient} (shared per
 * {@link SageMakerBackendFactory}, a keep-alive pool of {@value
 * SageMakerBackendFactory#MAX_CONNECTIONS} connections with read/idle timeouts above SageMaker's 60
 * s model timeout; the SDK's Netty defaults of 50 connections and 30 s are too low for that) and
 * are signed per request with the SDK's SigV4 signer. Not the SDK's SageMakerRuntimeAsyncClient:
 * with Vert.x the response stream is relayed on the event loop without thread hops, and its raw
 * event-stream bytes pass through frame by frame instead of being decoded into SDK events and
 * encoded again.
 */
public final class SageMakerBackend implements Backend {

  /** The backend's limits, as its callers know them; each is defined where it is enforced. */
  public static final long MAX_RESPONSE_BYTES = RuntimeUpstream.MAX_RESPONSE_BYTES;

  public static final int MAX_RETRIES = RuntimeCall.MAX_RETRIES;
  public static final String SIGNING_NAME = RuntimeSigner.SIGNING_NAME;
  public static final int SIGN_OFF_LOOP_BYTES = RuntimeSigner.SIGN_OFF_LOOP_BYTES;

  private static final Logger LOG = LoggerFactory.getLogger(SageMakerBackend.class);

  private final Vertx vertx;
  private final URI runtime;
  private final Region region;
  private final EndpointConfig endpoint;
  private final RuntimeUpstream upstream;
  private final Route invokeRoute;
  private final Route streamRoute;
  private final Route asyncRoute;
  private final ChatTarget chatTarget;
  private final BearerTokens tokens;

  /**
   * @param client the shared client of {@link SageMakerBackendFactory}
   * @param runtime SageMaker Runtime's base URL ({@link AwsClients#sagemakerRuntimeEndpoint()})
   */
  public SageMakerBackend(
      Vertx vertx, HttpClient client, URI runtime, Region region, EndpointConfig endpoint) {
    this(vertx, client, runtime, region, endpoint, new BearerTokens(Clock.systemUTC()));
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
    this.runtime = runtime;
    this.region = region;
    this.endpoint = endpoint;
    // The model has up to the configured timeout (default 60 s, SageMaker's) to answer; allow
    // SageMaker a quarter on top (75 s by default) to turn a model timeout into its own error.
    Duration t = endpoint.backend().timeout();
    long idleTimeoutMillis = t.plus(t.dividedBy(4)).toMillis();
    this.upstream =
        new RuntimeUpstream(
            vertx,
            client,
            new CallDeadlines(vertx, idleTimeoutMillis),
            endpoint.name(),
            endpoint.backend().connectTimeout().toMillis(),
            idleTimeoutMillis);
    // SageMaker Runtime's base URL without a trailing slash, and the endpoint's name encoded for a
    // path.
    String base = runtime.toString().replaceAll("/+$", "");
    String encodedName = URLEncoder.encode(endpoint.name(), StandardCharsets.UTF_8);
    this.invokeRoute = Route.of(base, encodedName, "invocations");
    this.streamRoute = Route.of(base, encodedName, "invocations-response-stream");
    this.asyncRoute = Route.of(base, encodedName, "async-invocations");
    this.chatTarget = ChatTarget.of(base, encodedName);
  }

  @Override
  public Future<Void> close() {
    upstream.deadlines().close();
    return Future.succeededFuture();
  }

  @Override
  public Future<BackendResponse> invoke(Invocation invocation) {
    return send(invocation, invokeRoute, true)
        .map(
            answer -> {
              HttpClientResponse resp = answer.response();
              MultiMap headers = SageMakerRequests.relayHeaders(resp, Action.INVOKE);
              return BackendResponse.buffered(
                  200,
                  headers,
                  Objects.requireNonNull(answer.body(), "a whole answer's body"),
                  resp.getHeader(SageMakerHeaders.REQUEST_ID));
            });
  }

  @Override
  public Future<BackendResponse> invokeStream(Invocation invocation) {
    return send(invocation, streamRoute, false)
        .map(
            answer -> {
              HttpClientResponse resp = answer.response();
              MultiMap headers = SageMakerRequests.relayHeaders(resp, Action.INVOKE_STREAM);
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
              MultiMap headers = SageMakerRequests.relayHeaders(resp, Action.INVOKE_ASYNC);
              headers.set(SageMakerHeaders.CONTENT_TYPE, "application/json");
              Buffer out = new JsonObject().put("InferenceId", inferenceId).toBuffer();
              return Future.succeededFuture(
                  BackendResponse.buffered(
                      202, headers, out, resp.getHeader(SageMakerHeaders.REQUEST_ID)));
            });
  }

  /**
   * A chat completion on SageMaker's OpenAI-compatible path ({@code
   * /endpoints/{name}[/inference-components/{c}]/openai/v1/chat/completions}), with a bearer token
   * minted from the caller's session ({@link OpenAiExchange}).
   */
  @Override
  public Future<BackendResponse> chatCompletions(Invocation invocation, OpenAiCall call) {
    if (lacksCredentials(invocation)) {
      return Future.failedFuture(Errors.internal().withAuditReason("sagemaker:no_credentials"));
    }
    return OpenAiExchange.send(upstream, tokens, region, invocation, call, chatTarget);
  }

  /**
   * Signs and sends; succeeds with the 2xx answer (its body read when {@code whole}, else the
   * response paused at its head), fails with the mapped error after the allowed retries.
   */
  private Future<Answer> send(Invocation invocation, Route route, boolean whole) {
    if (lacksCredentials(invocation)) {
      return Future.failedFuture(Errors.internal().withAuditReason("sagemaker:no_credentials"));
    }
    Buffer body = invocation.body() == null ? Buffer.buffer() : invocation.body();
    if (body.length() > ServerSettings.SAGEMAKER_MAX_BODY_BYTES) {
      return Future.failedFuture(Errors.payloadTooLarge(ServerSettings.SAGEMAKER_MAX_BODY_BYTES));
    }
    return RuntimeSigner.sign(
            vertx,
            route.unsigned(invocation.headers(), invocation.action()),
            body,
            invocation.credentials().awsCredentials(),
            region)
        .compose(
            signed ->
                RuntimeCall.send(
                    upstream,
                    new RuntimeCall.Request(
                        signed,
                        route,
                        body,
                        invocation.action().iamAction(),
                        whole,
                        invocation.callerGone())));
  }

  private boolean lacksCredentials(Invocation invocation) {
    if (invocation.credentials() == null || invocation.credentials().isNone()) {
      LOG.warn("endpoint {}: sagemaker backend called without credentials", endpoint.name());
      return true;
    }
    return false;
  }

  /**
   * The backend's whole per-request preparation of a call with a small body, on the calling thread:
   * the request built, signed and turned into Vert.x request options, exactly as {@code send} does
   * it. Public so the AWS path benchmark measures this code and not a copy of it; the backend
   * itself does not call it.
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
    return route.options(
        RuntimeSigner.sign(
                route.unsigned(invocation.headers(), invocation.action()),
                body.getBytes(),
                invocation.credentials().awsCredentials(),
                region)
            .request(),
        upstream.connectTimeoutMillis());
  }

  @Override
  public String toString() {
    return "SageMakerBackend[" + endpoint.name() + " at " + runtime + "]";
  }
}
