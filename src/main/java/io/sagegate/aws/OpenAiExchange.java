package io.sagegate.aws;

import io.sagegate.aws.SageMakerRequests.ChatTarget;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.backend.UpstreamFailures;
import io.sagegate.error.Errors;
import io.sagegate.openai.OpenAiCall;
import io.sagegate.openai.OpenAiErrors;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.regions.Region;

/**
 * One exchange on SageMaker's OpenAI-compatible path, authenticated by a bearer token minted from
 * the caller's session ({@link BearerTokens}), not by SigV4; the caller's own token never leaves
 * the gateway. A 401 or 403 mints the token again once and retries, in an exchange of its own with
 * a deadline of its own. Upstream error text is relayed only sanitized ({@link
 * SageMakerErrors#openAi}).
 */
final class OpenAiExchange extends RuntimeExchange<BackendResponse> {

  private static final Logger LOG = LoggerFactory.getLogger(SageMakerBackend.class);

  private final BearerTokens tokens;
  private final Region region;
  private final Invocation invocation;
  private final OpenAiCall call;
  private final ChatTarget target;

  /** True for the one retry after a refused token. */
  private final boolean again;

  private OpenAiExchange(
      RuntimeUpstream upstream,
      BearerTokens tokens,
      Region region,
      Invocation invocation,
      OpenAiCall call,
      ChatTarget target,
      boolean again) {
    super(upstream);
    this.tokens = tokens;
    this.region = region;
    this.invocation = invocation;
    this.call = call;
    this.target = target;
    this.again = again;
  }

  /** Sends the chat completion {@code call} to {@code target}. */
  static Future<BackendResponse> send(
      RuntimeUpstream upstream,
      BearerTokens tokens,
      Region region,
      Invocation invocation,
      OpenAiCall call,
      ChatTarget target) {
    return new OpenAiExchange(upstream, tokens, region, invocation, call, target, false).start();
  }

  private Future<BackendResponse> start() {
    upstream.onContext(this::exchange);
    return future();
  }

  private void exchange() {
    String token;
    try {
      token = tokens.token(invocation.credentials(), region);
    } catch (RuntimeException e) {
      LOG.warn("endpoint {}: could not mint a bearer token: {}", upstream.endpoint(), e.toString());
      fail(Errors.internal().withAuditReason("sagemaker:bearer_token_failed"));
      return;
    }
    // No idle timeout here: the exchange's deadline covers the wait (as for InvokeEndpoint).
    RequestOptions options =
        target
            .options(call.component())
            .setMethod(HttpMethod.POST)
            .setConnectTimeout(upstream.connectTimeoutMillis())
            .putHeader(HttpHeaders.AUTHORIZATION, "Bearer " + token)
            .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
            .putHeader(
                HttpHeaders.ACCEPT, call.stream() ? "text/event-stream" : "application/json");
    Buffer body = invocation.body() == null ? Buffer.buffer() : invocation.body();
    arm();
    future().onComplete(v -> disarm());
    abandonWhenCallerLeaves(invocation.callerGone(), upstream.endpoint(), "sagemaker:caller_gone");
    upstream
        .client()
        .request(options)
        .compose(
            req -> {
              requestMade(req);
              return req.send(body);
            })
        .onComplete(
            ar -> {
              if (ar.failed()) {
                disarm();
                if (!ended()) {
                  fail(
                      upstream.transportError(
                          ar.cause(), UpstreamFailures.isConnectFailure(ar.cause())));
                }
                return;
              }
              HttpClientResponse resp = ar.result();
              resp.pause();
              if (resp.statusCode() / 100 == 2) {
                answered(resp);
              } else {
                readAnswer(resp, b -> refused(resp, b));
              }
            });
  }

  /** A 2xx answer: JSON read whole, or the event stream passed on as it is. */
  private void answered(HttpClientResponse resp) {
    String requestId = resp.getHeader(SageMakerHeaders.REQUEST_ID);
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    String type = resp.getHeader(HttpHeaders.CONTENT_TYPE);
    headers.set(
        HttpHeaders.CONTENT_TYPE,
        type != null ? type : call.stream() ? "text/event-stream" : "application/json");
    if (call.stream()) {
      headers.set(HttpHeaders.CACHE_CONTROL, "no-cache");
      HttpClientRequest req = resp.request();
      streamFrom(
          resp,
          upstream.idleTimeoutMillis(),
          BackendResponse.streamed(200, headers, resp, () -> req.reset(), requestId));
      return;
    }
    readAnswer(
        resp,
        b -> {
          if (OpenAiErrors.isJsonObject(b)) {
            succeed(BackendResponse.buffered(200, headers, b, requestId));
            return;
          }
          LOG.warn(
              "SageMaker's OpenAI answer for endpoint {} is not a JSON object (request id {})",
              upstream.endpoint(),
              requestId);
          fail(
              Errors.badGateway(
                      "SageMaker Runtime returned an unparseable answer for endpoint "
                          + upstream.endpoint())
                  .withAuditReason("sagemaker:unparseable_200"));
        });
  }

  /** An error answer, read whole: a refused token is minted again once; the rest is mapped. */
  private void refused(HttpClientResponse resp, Buffer body) {
    int status = resp.statusCode();
    if ((status == 401 || status == 403) && !again) {
      // A token SageMaker no longer takes (its session renewed, a clock skew): once more with a
      // fresh one.
      LOG.info(
          "SageMaker refused the bearer token for endpoint {} ({}); minting another",
          upstream.endpoint(),
          status);
      tokens.invalidate(invocation.credentials());
      endAs(new OpenAiExchange(upstream, tokens, region, invocation, call, target, true).start());
      return;
    }
    fail(SageMakerErrors.openAi(upstream.endpoint(), status, resp.headers(), body, call.stream()));
  }
}
