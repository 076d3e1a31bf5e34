package io.sagegate.openai;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Errors on the OpenAI-compatible routes, in the envelope OpenAI clients parse: {@code
 * {"error":{"message","type","code"}}}. The status stays what it is on every other route; {@code
 * type} is OpenAI's word for that status and {@code code} the gateway's error type (the same as the
 * {@code x-amzn-ErrorType} header). Upstream text (a container's or SageMaker's message) is passed
 * on only through {@link #sanitize}: account ids, console URLs, ARNs and stack traces are removed
 * first.
 */
public final class OpenAiErrors {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** How much of an upstream message is passed on at most. */
  public static final int MAX_MESSAGE_CHARS = 1024;

  private static final Pattern ARN =
      Pattern.compile("arn:aws[a-zA-Z-]*:[a-z0-9-]+:[a-z0-9-]*:\\d{12}:[^\\s\"',;)]*");
  private static final Pattern URL =
      Pattern.compile(
          "https?://[^\\s\"'<>)]*(console\\.aws|amazonaws\\.com|aws\\.amazon\\.com)[^\\s\"'<>)]*",
          Pattern.CASE_INSENSITIVE);
  private static final Pattern ACCOUNT = Pattern.compile("(?<![0-9])\\d{12}(?![0-9])");

  /** Java, Python and Node stack frames, and what introduces them. */
  private static final Pattern STACK =
      Pattern.compile(
          "(?s)(Traceback \\(most recent call last\\):.*$)|(\\n\\s*at [\\w$.<>/]+\\(.*$)|(\\n\\s*File \".*$)");

  private static final Pattern NO_CAPACITY =
      Pattern.compile(
          "no capacity|insufficient capacity|scal(ed|ing) (up )?from zero",
          Pattern.CASE_INSENSITIVE);

  private OpenAiErrors() {}

  /**
   * Whether {@code body} is one JSON object (a chat completion), not junk. Checked by streaming
   * through its tokens, as {@code readTree} would read them, without building the tree: every
   * buffered answer on the OpenAI path is checked, and the tree was thrown away at once.
   */
  public static boolean isJsonObject(io.vertx.core.buffer.Buffer body) {
    if (body == null) {
      return false;
    }
    try (JsonParser p = JSON.createParser(body.getBytes())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return false;
      }
      p.skipChildren(); // reads to the object's end; a broken or cut-off object throws
      return p.currentToken() == JsonToken.END_OBJECT;
    } catch (java.io.IOException | RuntimeException e) {
      return false;
    }
  }

  /** OpenAI's error type for an HTTP status, as its SDKs name the error classes. */
  public static String type(int status) {
    return switch (status) {
      case 400, 405, 413, 414, 415, 431 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 404 -> "not_found_error";
      case 424 -> "model_error";
      case 429 -> "rate_limit_error";
      default -> status >= 500 ? "server_error" : "invalid_request_error";
    };
  }

  /** The envelope for {@code error}. */
  public static String body(GatewayException error) {
    ObjectNode root = JSON.createObjectNode();
    ObjectNode e = root.putObject("error");
    e.put("message", error.getMessage());
    e.put("type", type(error.status()));
    e.put("code", error.errorType());
    try {
      return JSON.writeValueAsString(root);
    } catch (JsonProcessingException ex) {
      return "{\"error\":{\"message\":\"The gateway failed to process the request\",\"type\":\"server_error\",\"code\":\""
          + Errors.INTERNAL_FAILURE
          + "\"}}";
    }
  }

  /**
   * The message of an upstream error answer: the {@code error.message} of an OpenAI envelope,
   * SageMaker's {@code message} / {@code Message}, a string {@code error} or {@code detail}, or
   * else the text itself; sanitized and bounded.
   */
  public static String upstreamMessage(byte[] body) {
    String text = new String(body, StandardCharsets.UTF_8);
    try {
      JsonNode n = JSON.readTree(text);
      if (n != null && n.isObject()) {
        JsonNode m = n.path("error").isObject() ? n.path("error").path("message") : n.path("error");
        if (!m.isTextual()) {
          m = n.path("message");
        }
        if (!m.isTextual()) {
          m = n.path("Message");
        }
        if (!m.isTextual()) {
          m = n.path("detail");
        }
        if (m.isTextual()) {
          text = m.asText();
        }
      }
    } catch (JsonProcessingException | RuntimeException e) {
      // not JSON: the text itself
    }
    return sanitize(text);
  }

  /**
   * Removes account ids, ARNs, AWS console and service URLs and stack traces; bounds the length.
   */
  public static String sanitize(String text) {
    if (text == null) {
      return "";
    }
    String s = STACK.matcher(text).replaceAll("");
    s = ARN.matcher(s).replaceAll("[arn]");
    s = URL.matcher(s).replaceAll("[url]");
    s = ACCOUNT.matcher(s).replaceAll("[account]");
    s = s.replaceAll("[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f]", "").trim();
    return s.length() > MAX_MESSAGE_CHARS ? s.substring(0, MAX_MESSAGE_CHARS) : s;
  }

  /** The Retry-After, in seconds, of a 503 for a model without capacity (scaling up from zero). */
  public static final int NO_CAPACITY_RETRY_AFTER_SECONDS = 60;

  /**
   * The error for an upstream error answer on the OpenAI path: a ModelError (424) quoting the
   * upstream message (sanitized), or, when it says there is no capacity, 503 ServiceUnavailable
   * with {@code Retry-After}.
   */
  public static GatewayException upstream(String endpointName, int status, byte[] body) {
    String message = upstreamMessage(body);
    if (noCapacity(message)) {
      return Errors.serviceUnavailable(
              "Endpoint "
                  + endpointName
                  + " has no capacity for the model now;"
                  + " it is scaling up, retry later")
          .withHeader("Retry-After", Integer.toString(NO_CAPACITY_RETRY_AFTER_SECONDS))
          .withAuditReason("openai:no_capacity");
    }
    return Errors.modelError(status, message, null);
  }

  /**
   * Whether an upstream error says the model has no capacity now (an inference component scaled to
   * zero answers so, and the call starts its scale-up): a 503 with Retry-After then.
   */
  public static boolean noCapacity(String message) {
    return message != null && NO_CAPACITY.matcher(message.toLowerCase(Locale.ROOT)).find();
  }
}
