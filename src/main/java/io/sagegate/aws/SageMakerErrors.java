package io.sagegate.aws;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.authz.Action;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.openai.OpenAiErrors;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import java.util.Set;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a SageMaker Runtime error answer into the caller's error, keeping SageMaker's model:
 * ModelError 424 (with OriginalStatusCode, OriginalMessage, LogStreamArn), ValidationError 400
 * (SageMaker's message, which can name the account, goes only to the log), ModelNotReadyException
 * 429, ServiceUnavailable 503, InternalFailure 500, InternalDependencyException 530, AccessDenied
 * 403 (IAM enforcing the session policy). Infrastructure messages are never relayed: they go to the
 * audit reason ({@code sagemaker:<code>}) and the log. Anything unrecognised is a 502.
 */
final class SageMakerErrors {

  private static final Logger LOG = LoggerFactory.getLogger(SageMakerErrors.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Errors after which the same request may be sent again. */
  static final Set<String> RETRYABLE =
      Set.of("ServiceUnavailable", "InternalFailure", "InternalDependencyException");

  private static final Set<String> SIGNATURE_ERRORS =
      Set.of(
          "InvalidSignatureException",
          "IncompleteSignature",
          "IncompleteSignatureException",
          "UnrecognizedClientException",
          "ExpiredTokenException",
          "InvalidClientTokenId",
          "MissingAuthenticationTokenException",
          "SignatureDoesNotMatch");

  private SageMakerErrors() {}

  /**
   * The error code of an answer: from {@code x-amzn-ErrorType}, else the body's {@code __type} /
   * {@code code}.
   */
  static @Nullable String code(int status, MultiMap headers, @Nullable JsonNode body) {
    String raw = headers.get(SageMakerHeaders.ERROR_TYPE);
    if (raw == null && body != null) {
      raw = body.path("__type").asText(null);
      if (raw == null) {
        raw = body.path("code").asText(null);
      }
    }
    if (raw == null) {
      return null;
    }
    int colon = raw.indexOf(':');
    if (colon >= 0) {
      raw = raw.substring(0, colon);
    }
    int hash = raw.lastIndexOf('#');
    return hash >= 0 ? raw.substring(hash + 1) : raw;
  }

  static @Nullable JsonNode parse(@Nullable Buffer body) {
    if (body == null || body.length() == 0) {
      return null;
    }
    try {
      JsonNode node = JSON.readTree(body.getBytes());
      return node != null && node.isObject() ? node : null;
    } catch (java.io.IOException e) {
      return null;
    }
  }

  static GatewayException map(
      String endpoint, String action, int status, MultiMap headers, Buffer rawBody) {
    JsonNode body = parse(rawBody);
    String code = code(status, headers, body);
    String message = body == null ? null : text(body, "message", "Message");
    String requestId = headers.get(SageMakerHeaders.REQUEST_ID);
    if (code == null) {
      LOG.warn(
          "SageMaker answered {} for endpoint {} without an error type (request id {})",
          status,
          endpoint,
          requestId);
      return Errors.badGateway(
              "SageMaker Runtime returned an unexpected answer for endpoint " + endpoint)
          .withAuditReason("sagemaker:unparseable_" + status);
    }
    GatewayException e;
    switch (code) {
      case "ModelError" -> {
        int original = body == null ? 0 : body.path("OriginalStatusCode").asInt(0);
        String originalMessage = body == null ? "" : body.path("OriginalMessage").asText("");
        String logStream = body == null ? null : body.path("LogStreamArn").asText(null);
        e = Errors.modelError(original, originalMessage, logStream);
      }
      case "ValidationError", "ValidationException" ->
          // SageMaker's wording can name the account, ARNs or resources the caller cannot see:
          // it goes to the log, not to the caller.
          e =
              Errors.validation(
                  "SageMaker Runtime rejected the request for endpoint "
                      + endpoint
                      + " as invalid");
      case "ModelNotReadyException" ->
          e =
              new GatewayException(
                  429,
                  Errors.MODEL_NOT_READY,
                  "The model of endpoint " + endpoint + " is not ready to serve requests");
      case "ServiceUnavailable" ->
          e =
              Errors.serviceUnavailable(
                  "SageMaker Runtime is unavailable for endpoint " + endpoint);
      case "InternalFailure" ->
          e =
              new GatewayException(
                  500,
                  Errors.INTERNAL_FAILURE,
                  "SageMaker Runtime failed to process the request for endpoint " + endpoint);
      case "InternalDependencyException" ->
          e =
              new GatewayException(
                  530,
                  Errors.INTERNAL_DEPENDENCY,
                  "A dependency of SageMaker Runtime failed for endpoint " + endpoint);
      case "AccessDeniedException", "AccessDenied" -> e = Errors.accessDenied(endpoint, action);
      case "ThrottlingException", "Throttling" ->
          e =
              new GatewayException(
                  429,
                  "ThrottlingException",
                  "SageMaker Runtime throttled requests for endpoint " + endpoint);
      default -> {
        if (SIGNATURE_ERRORS.contains(code)) {
          LOG.warn(
              "SageMaker refused the gateway's signature or session for endpoint {}: {} (request id {})",
              endpoint,
              code,
              requestId);
        }
        e =
            Errors.badGateway(
                "SageMaker Runtime returned an unexpected error for endpoint " + endpoint);
      }
    }
    if ("ValidationError".equals(code) || "ValidationException".equals(code)) {
      // A caller's mistake, not an operator's: not a warning. The message may quote the request.
      LOG.info(
          "SageMaker answered {} {} for endpoint {} (request id {})",
          status,
          code,
          endpoint,
          requestId);
      LOG.debug(
          "SageMaker's {} for endpoint {} (request id {}): {}", code, endpoint, requestId, message);
    } else if (!"ModelError".equals(code)) {
      LOG.warn(
          "SageMaker answered {} {} for endpoint {} (request id {}): {}",
          status,
          code,
          endpoint,
          requestId,
          message);
    }
    return e.withAuditReason("sagemaker:" + code);
  }

  /** An error answer on the OpenAI path, in either shape (SageMaker's or OpenAI's envelope). */
  static GatewayException openAi(
      String endpoint, int status, MultiMap headers, Buffer body, boolean stream) {
    String requestId = headers.get(SageMakerHeaders.REQUEST_ID);
    String message = OpenAiErrors.upstreamMessage(body.getBytes());
    if (OpenAiErrors.noCapacity(message)) {
      LOG.info(
          "Endpoint {} has no capacity now (request id {}): answered 503 with Retry-After",
          endpoint,
          requestId);
      return OpenAiErrors.upstream(endpoint, status, body.getBytes());
    }
    JsonNode json = SageMakerErrors.parse(body);
    String action = (stream ? Action.INVOKE_STREAM : Action.INVOKE).ruleName();
    if (headers.get(SageMakerHeaders.ERROR_TYPE) != null || (json != null && json.has("__type"))) {
      GatewayException mapped = SageMakerErrors.map(endpoint, action, status, headers, body);
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
          endpoint,
          requestId);
      return Errors.badGateway(
              "SageMaker Runtime returned an unparseable answer for endpoint " + endpoint)
          .withAuditReason("sagemaker:unparseable_" + status);
    }
    if (status == 401 || status == 403) {
      LOG.warn(
          "SageMaker refused the gateway's bearer token for endpoint {} twice ({}, request id {}): {}; does the"
              + " invoke role allow sagemaker:CallWithBearerToken and sagemaker:InvokeEndpoint on it?",
          endpoint,
          status,
          requestId,
          message);
      return Errors.accessDenied(endpoint, action)
          .withAuditReason("sagemaker:bearer_refused_" + status);
    }
    if (status == 429) {
      return new GatewayException(
              429,
              "ThrottlingException",
              "SageMaker Runtime throttled requests for endpoint " + endpoint + ": " + message)
          .withAuditReason("sagemaker:throttled");
    }
    if (status >= 500) {
      LOG.warn(
          "SageMaker answered {} for endpoint {} (request id {}): {}",
          status,
          endpoint,
          requestId,
          message);
      return (status == 503
              ? Errors.serviceUnavailable(
                  "SageMaker Runtime is unavailable for endpoint " + endpoint)
              : Errors.badGateway(
                  "SageMaker Runtime failed for endpoint " + endpoint + ": " + message))
          .withAuditReason("sagemaker:openai_" + status);
    }
    return Errors.modelError(status, message, null)
        .withAuditReason("sagemaker:model_error_" + status);
  }

  private static @Nullable String text(JsonNode body, String... names) {
    for (String n : names) {
      JsonNode v = body.get(n);
      if (v != null && v.isTextual()) {
        return v.asText();
      }
    }
    return null;
  }
}
