package io.sagegate.aws;

import io.sagegate.authz.Action;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.backend.SageMakerHeaders;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;

/**
 * How a call maps onto SageMaker Runtime's wire API and back: the operations' URLs, the request
 * headers each operation takes (as botocore names them), and the response headers relayed to the
 * caller. No I/O and no signing ({@link RuntimeSigner}).
 */
public final class SageMakerRequests {

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

  private SageMakerRequests() {}

  /**
   * What one operation's calls share, computed once per backend rather than per request (the URL,
   * its encoding and parsing were a measurable part of the per-request cost): the unsigned request
   * without headers, and the target as {@link RequestOptions#setAbsoluteURI} parses it.
   */
  record Route(
      String operation, SdkHttpRequest template, String host, int port, boolean ssl, String uri) {

    /**
     * @param base SageMaker Runtime's base URL without a trailing slash
     * @param encodedName the endpoint's name encoded for a path
     */
    static Route of(String base, String encodedName, String operation) {
      URI uri = URI.create(base + "/endpoints/" + encodedName + "/" + operation);
      SdkHttpRequest template =
          SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(uri).build();
      // Exactly what setAbsoluteURI(signed.getUri().toString()) would set per request: signing
      // adds headers only, so the signed request's URI is the template's.
      RequestOptions parsed = new RequestOptions().setAbsoluteURI(template.getUri().toString());
      return new Route(
          operation, template, parsed.getHost(), parsed.getPort(), parsed.isSsl(), parsed.getURI());
    }

    /** The unsigned request of one call: the template with the call's SageMaker headers. */
    SdkHttpRequest unsigned(InvocationHeaders headers, Action action) {
      return requestHeaders(template.toBuilder(), headers, action).build();
    }

    /**
     * The Vert.x request for a signed request on this route: host, port, TLS and path precomputed
     * instead of setAbsoluteURI, which parsed a java.net.URL per request. No idle timeout here: the
     * exchange's deadline covers the wait.
     */
    RequestOptions options(SdkHttpRequest signed, long connectTimeoutMillis) {
      RequestOptions options =
          new RequestOptions()
              .setMethod(HttpMethod.POST)
              .setURI(uri)
              .setPort(port)
              .setSsl(ssl)
              .setHost(host)
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
  }

  /**
   * Where an endpoint's OpenAI-compatible chat completions go, {@code
   * /endpoints/{name}[/inference-components/{c}]/openai/v1/chat/completions}: host, port, TLS and
   * the endpoint's path parsed once per backend, as {@link Route} does for the other operations
   * (setAbsoluteURI parsed a java.net.URL per request); only the inference component, part of the
   * path, is added per call.
   */
  record ChatTarget(String host, int port, boolean ssl, String endpointPath) {

    /**
     * @param base SageMaker Runtime's base URL without a trailing slash
     * @param encodedName the endpoint's name encoded for a path
     */
    static ChatTarget of(String base, String encodedName) {
      RequestOptions parsed =
          new RequestOptions().setAbsoluteURI(base + "/endpoints/" + encodedName);
      return new ChatTarget(parsed.getHost(), parsed.getPort(), parsed.isSsl(), parsed.getURI());
    }

    /** The request of one call, to {@code component} (null: the endpoint itself). */
    RequestOptions options(@Nullable String component) {
      return new RequestOptions()
          .setHost(host)
          .setPort(port)
          .setSsl(ssl)
          .setURI(
              endpointPath
                  + (component == null
                      ? ""
                      : "/inference-components/"
                          + URLEncoder.encode(component, StandardCharsets.UTF_8))
                  + "/openai/v1/chat/completions");
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

  private static void put(SdkHttpRequest.Builder b, String name, @Nullable String value) {
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
}
