package io.sagegate.backend;

import io.sagegate.authz.Action;
import io.sagegate.config.EndpointConfig;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpHeaders;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * The SageMaker Runtime request headers of one call, checked against SageMaker's length and pattern
 * limits (from the service's API model), so a bad value is refused here with a ValidationError that
 * names the header, not somewhere upstream.
 */
public record InvocationHeaders(
    @Nullable String contentType,
    @Nullable String accept,
    @Nullable String customAttributes,
    @Nullable String targetModel,
    @Nullable String targetVariant,
    @Nullable String targetContainerHostname,
    @Nullable String inferenceId,
    @Nullable String enableExplanations,
    @Nullable String inferenceComponent,
    @Nullable String sessionId,
    @Nullable String inputLocation,
    @Nullable Integer requestTtlSeconds,
    @Nullable Integer invocationTimeoutSeconds,
    @Nullable String s3OutputPathExtension,
    @Nullable String filename) {

  /** Without the async-only output path extension and file name. */
  public InvocationHeaders(
      @Nullable String contentType,
      @Nullable String accept,
      @Nullable String customAttributes,
      @Nullable String targetModel,
      @Nullable String targetVariant,
      @Nullable String targetContainerHostname,
      @Nullable String inferenceId,
      @Nullable String enableExplanations,
      @Nullable String inferenceComponent,
      @Nullable String sessionId,
      @Nullable String inputLocation,
      @Nullable Integer requestTtlSeconds,
      @Nullable Integer invocationTimeoutSeconds) {
    this(
        contentType,
        accept,
        customAttributes,
        targetModel,
        targetVariant,
        targetContainerHostname,
        inferenceId,
        enableExplanations,
        inferenceComponent,
        sessionId,
        inputLocation,
        requestTtlSeconds,
        invocationTimeoutSeconds,
        null,
        null);
  }

  /** Marks the headers whose values must be ASCII (checked by a loop, not a regex). */
  private static final Pattern ASCII = Pattern.compile("\\p{ASCII}*");

  private static final Pattern PRINTABLE = Pattern.compile("\\A\\S[\\p{Print}]*\\z");
  private static final Pattern NAME = Pattern.compile("^[a-zA-Z0-9](-*[a-zA-Z0-9])*$");
  private static final Pattern COMPONENT = EndpointConfig.COMPONENT_NAME;
  private static final Pattern SESSION =
      Pattern.compile("^(NEW_SESSION)$|^[a-zA-Z0-9](-*[a-zA-Z0-9])*$");

  /** InvokeEndpointWithResponseStream's SessionId: an existing session only, no NEW_SESSION. */
  private static final Pattern STREAM_SESSION = Pattern.compile("^[a-zA-Z0-9](-*[a-zA-Z0-9])*$");

  private static final Pattern OUTPUT_PATH_EXTENSION =
      Pattern.compile("^(?!s3:|https:)[a-zA-Z0-9!_.*'()/-]+$");
  private static final Pattern FILENAME =
      Pattern.compile("^(?!.*\\..*\\.)[a-zA-Z0-9][a-zA-Z0-9-_\\.]*$");
  private static final Pattern LOCATION = Pattern.compile("^(https|s3)://([^/]+)/?(.*)$");

  /**
   * The header names as Vert.x lookup keys with their hash precomputed: every request looks up all
   * of them, and hashing a String name case-insensitively on each lookup added up.
   */
  private static final Map<String, CharSequence> KEYS =
      Stream.of(
              SageMakerHeaders.CONTENT_TYPE,
              SageMakerHeaders.ACCEPT,
              SageMakerHeaders.STREAM_ACCEPT,
              SageMakerHeaders.STREAM_CONTENT_TYPE,
              SageMakerHeaders.S3_OUTPUT_PATH_EXTENSION,
              SageMakerHeaders.FILENAME,
              SageMakerHeaders.CUSTOM_ATTRIBUTES,
              SageMakerHeaders.TARGET_MODEL,
              SageMakerHeaders.TARGET_VARIANT,
              SageMakerHeaders.TARGET_CONTAINER_HOSTNAME,
              SageMakerHeaders.INFERENCE_ID,
              SageMakerHeaders.ENABLE_EXPLANATIONS,
              SageMakerHeaders.INFERENCE_COMPONENT,
              SageMakerHeaders.SESSION_ID,
              SageMakerHeaders.INPUT_LOCATION,
              SageMakerHeaders.REQUEST_TTL_SECONDS,
              SageMakerHeaders.INVOCATION_TIMEOUT_SECONDS)
          .collect(Collectors.toUnmodifiableMap(n -> n, HttpHeaders::createOptimized));

  public static final InvocationHeaders EMPTY =
      new InvocationHeaders(
          null, null, null, null, null, null, null, null, null, null, null, null, null, null, null);

  /**
   * Reads and checks the headers of a request for {@code action}.
   *
   * @throws GatewayException ValidationError naming the header and the limit it breaks
   */
  public static InvocationHeaders from(MultiMap h, Action action) {
    boolean stream = action == Action.INVOKE_STREAM;
    boolean async = action == Action.INVOKE_ASYNC;
    // botocore names the accept header X-Amzn-SageMaker-Accept for the stream and async
    // operations, and async's content type X-Amzn-SageMaker-Content-Type (async has no body of
    // its own); the plain names are taken where the prefixed one is absent.
    String acceptName = stream || async ? SageMakerHeaders.STREAM_ACCEPT : SageMakerHeaders.ACCEPT;
    String prefixedAccept =
        stream || async ? h.get(KEYS.get(SageMakerHeaders.STREAM_ACCEPT)) : null;
    String accept =
        prefixedAccept != null ? prefixedAccept : h.get(KEYS.get(SageMakerHeaders.ACCEPT));
    String contentType =
        async ? check(h, SageMakerHeaders.STREAM_CONTENT_TYPE, 0, 1024, ASCII) : null;
    if (contentType == null) {
      contentType = check(h, SageMakerHeaders.CONTENT_TYPE, 0, 1024, ASCII);
    }
    String inputLocation = check(h, SageMakerHeaders.INPUT_LOCATION, 1, 1024, LOCATION);
    if (async && inputLocation == null) {
      throw Errors.validation(
          "Header " + SageMakerHeaders.INPUT_LOCATION + " is required for asynchronous inference");
    }
    InvocationHeaders parsed =
        new InvocationHeaders(
            contentType,
            checkValue(acceptName, accept, 0, 1024, ASCII),
            check(h, SageMakerHeaders.CUSTOM_ATTRIBUTES, 0, 1024, ASCII),
            check(h, SageMakerHeaders.TARGET_MODEL, 1, 1024, PRINTABLE),
            check(h, SageMakerHeaders.TARGET_VARIANT, 0, 63, NAME),
            check(h, SageMakerHeaders.TARGET_CONTAINER_HOSTNAME, 0, 63, NAME),
            check(h, SageMakerHeaders.INFERENCE_ID, 1, 64, PRINTABLE),
            check(h, SageMakerHeaders.ENABLE_EXPLANATIONS, 1, 64, null),
            check(h, SageMakerHeaders.INFERENCE_COMPONENT, 0, 63, COMPONENT),
            check(h, SageMakerHeaders.SESSION_ID, 0, 256, stream ? STREAM_SESSION : SESSION),
            inputLocation,
            integer(h, SageMakerHeaders.REQUEST_TTL_SECONDS, 60, 21600),
            integer(h, SageMakerHeaders.INVOCATION_TIMEOUT_SECONDS, 1, 3600),
            check(h, SageMakerHeaders.S3_OUTPUT_PATH_EXTENSION, 1, 512, OUTPUT_PATH_EXTENSION),
            check(h, SageMakerHeaders.FILENAME, 1, 32, FILENAME));
    parsed.refuseWhatTheOperationDoesNotTake(action);
    return parsed;
  }

  /**
   * Refuses a header that {@code action}'s operation does not take (botocore's input shapes) rather
   * than dropping it: rules match on target variant, model and inference component, and a dropped
   * one would let a rule allow a call that SageMaker then routes elsewhere.
   */
  private void refuseWhatTheOperationDoesNotTake(Action action) {
    if (action == Action.INVOKE_ASYNC) {
      notTaken(action, SageMakerHeaders.TARGET_VARIANT, targetVariant);
      notTaken(action, SageMakerHeaders.TARGET_CONTAINER_HOSTNAME, targetContainerHostname);
      notTaken(action, SageMakerHeaders.INFERENCE_COMPONENT, inferenceComponent);
      notTaken(action, SageMakerHeaders.SESSION_ID, sessionId);
    } else {
      notTaken(action, SageMakerHeaders.INPUT_LOCATION, inputLocation);
      notTaken(action, SageMakerHeaders.REQUEST_TTL_SECONDS, requestTtlSeconds);
      notTaken(action, SageMakerHeaders.INVOCATION_TIMEOUT_SECONDS, invocationTimeoutSeconds);
      notTaken(action, SageMakerHeaders.S3_OUTPUT_PATH_EXTENSION, s3OutputPathExtension);
      notTaken(action, SageMakerHeaders.FILENAME, filename);
    }
    if (action != Action.INVOKE) {
      notTaken(action, SageMakerHeaders.TARGET_MODEL, targetModel);
      notTaken(action, SageMakerHeaders.ENABLE_EXPLANATIONS, enableExplanations);
    }
  }

  private static void notTaken(Action action, String name, @Nullable Object value) {
    if (value != null) {
      throw Errors.validation("Header " + name + " is not taken by " + operation(action));
    }
  }

  private static String operation(Action action) {
    return switch (action) {
      case INVOKE -> "InvokeEndpoint";
      case INVOKE_STREAM -> "InvokeEndpointWithResponseStream";
      case INVOKE_ASYNC -> "InvokeEndpointAsync";
    };
  }

  private static @Nullable String check(
      MultiMap h, String name, int min, int max, @Nullable Pattern pattern) {
    CharSequence key = KEYS.get(name);
    String value = h.get(key);
    // getAll() builds a list, so it is asked only of headers that are there (on the hot path
    // most SageMaker headers are absent).
    if (value != null && h.getAll(key).size() > 1) {
      throw Errors.validation("Header " + name + " must be given at most once");
    }
    return checkValue(name, value, min, max, pattern);
  }

  private static @Nullable String checkValue(
      String name, @Nullable String value, int min, int max, @Nullable Pattern pattern) {
    if (value == null) {
      return null;
    }
    if (value.length() < min || value.length() > max) {
      throw Errors.validation(
          "Header "
              + name
              + " must be "
              + min
              + " to "
              + max
              + " characters long, got "
              + value.length());
    }
    if (pattern != null
        && (pattern == ASCII ? !isAscii(value) : !pattern.matcher(value).matches())) {
      throw Errors.validation(
          "Header " + name + " does not match the pattern " + pattern.pattern());
    }
    return value;
  }

  private static boolean isAscii(String value) {
    for (int i = 0; i < value.length(); i++) {
      if (value.charAt(i) > 0x7f) {
        return false;
      }
    }
    return true;
  }

  private static @Nullable Integer integer(MultiMap h, String name, int min, int max) {
    String value = check(h, name, 1, 10, null);
    if (value == null) {
      return null;
    }
    try {
      int n = Integer.parseInt(value);
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException e) {
      // fall through to the one message
    }
    throw Errors.validation(
        "Header " + name + " must be a whole number from " + min + " to " + max);
  }
}
