package io.sagegate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.buffer.Buffer;
import org.jspecify.annotations.Nullable;

/** OpenAI {@code usage}: the tokens of the prompt and of the completion a model reported. */
public record Usage(long promptTokens, long completionTokens) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The usage of a chat completion object (or stream chunk), or null when it carries none. */
  public static @Nullable Usage of(@Nullable JsonNode completion) {
    if (completion == null || !completion.isObject()) {
      return null;
    }
    JsonNode u = completion.get("usage");
    if (u == null || !u.isObject()) {
      return null;
    }
    JsonNode p = u.get("prompt_tokens");
    JsonNode c = u.get("completion_tokens");
    if ((p == null || !p.canConvertToLong()) && (c == null || !c.canConvertToLong())) {
      return null;
    }
    return new Usage(
        p != null && p.canConvertToLong() ? Math.max(0, p.asLong()) : -1,
        c != null && c.canConvertToLong() ? Math.max(0, c.asLong()) : -1);
  }

  /** The usage of a buffered answer, or null when it is not JSON or carries none. */
  public static @Nullable Usage of(@Nullable Buffer body) {
    if (body == null || body.length() == 0) {
      return null;
    }
    try {
      return of(JSON.readTree(body.getBytes()));
    } catch (java.io.IOException | RuntimeException e) {
      return null;
    }
  }
}
