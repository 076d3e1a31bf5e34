package io.sagegate.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagegate.error.Errors;
import io.vertx.core.buffer.Buffer;
import org.jspecify.annotations.Nullable;

/**
 * A chat completion request body as the gateway checks it: a JSON object whose {@code stream}, when
 * present, is a boolean and whose {@code stream_options}, when present, is an object. The rest
 * ({@code model}, {@code messages}, ...) is the model's to judge and is forwarded unchanged, except
 * that {@link #withUsage()} may ask for {@code stream_options.include_usage}.
 */
public record ChatRequest(
    Buffer body, boolean stream, boolean includeUsage, @Nullable String model, ObjectNode json) {

  private static final ObjectMapper JSON = JsonMapper.builder().build();

  /**
   * @throws io.sagegate.error.GatewayException ValidationError (400) naming what is wrong
   */
  public static ChatRequest parse(Buffer body) {
    JsonNode node;
    try {
      node = body == null || body.length() == 0 ? null : JSON.readTree(body.getBytes());
    } catch (JsonProcessingException e) {
      throw Errors.validation(
          "The request body is not valid JSON"
              + (e.getLocation() == null
                  ? ""
                  : " (line "
                      + e.getLocation().getLineNr()
                      + ", column "
                      + e.getLocation().getColumnNr()
                      + ")"));
    } catch (java.io.IOException e) {
      throw Errors.validation("The request body could not be read");
    }
    if (node == null || !node.isObject()) {
      throw Errors.validation("The request body must be a JSON object (a chat completion request)");
    }
    ObjectNode json = (ObjectNode) node;
    JsonNode stream = json.get("stream");
    if (stream != null && !stream.isBoolean() && !stream.isNull()) {
      throw Errors.validation("Field 'stream' must be a boolean, got " + kind(stream));
    }
    JsonNode options = json.get("stream_options");
    if (options != null && !options.isObject() && !options.isNull()) {
      throw Errors.validation("Field 'stream_options' must be an object, got " + kind(options));
    }
    JsonNode include = options == null ? null : options.get("include_usage");
    if (include != null && !include.isBoolean() && !include.isNull()) {
      throw Errors.validation(
          "Field 'stream_options.include_usage' must be a boolean, got " + kind(include));
    }
    JsonNode model = json.get("model");
    return new ChatRequest(
        body,
        stream != null && stream.asBoolean(),
        include != null && include.asBoolean(),
        model != null && model.isTextual() ? model.asText() : null,
        json);
  }

  /**
   * The request's {@code max_completion_tokens}, else its {@code max_tokens} (whole numbers of 0 or
   * more), or -1 when it sets neither.
   */
  public long maxTokens() {
    for (String field : new String[] {"max_completion_tokens", "max_tokens"}) {
      JsonNode n = json.get(field);
      if (n != null && n.canConvertToLong() && n.asLong() >= 0) {
        return n.asLong();
      }
    }
    return -1;
  }

  /** This request asking upstream for {@code stream_options.include_usage}. */
  public ChatRequest withUsage() {
    ObjectNode copy = json.deepCopy();
    JsonNode options = copy.get("stream_options");
    ObjectNode o = options instanceof ObjectNode on ? on : copy.putObject("stream_options");
    o.put("include_usage", true);
    try {
      return new ChatRequest(
          Buffer.buffer(JSON.writeValueAsBytes(copy)), stream, true, model, copy);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write the request body", e);
    }
  }

  private static String kind(JsonNode n) {
    return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }
}
