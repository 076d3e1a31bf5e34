package io.sagegate.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

/** What the backends take for a chat completion answer: one JSON object, not junk. */
class OpenAiErrorsTest {

  private static boolean object(String text) {
    return OpenAiErrors.isJsonObject(text == null ? null : Buffer.buffer(text));
  }

  @Test
  void oneJsonObjectIsAChatCompletion() {
    assertEquals(true, object("{\"id\":\"c1\",\"choices\":[{\"message\":{\"content\":\"hi\"}}]}"));
    assertEquals(true, object("  {}  "));
    // As Jackson's readTree reads it: the first value decides, what follows it is not read.
    assertEquals(true, object("{\"a\":1} trailing"));
  }

  @Test
  void anythingElseIsNot() {
    assertEquals(false, object(null));
    assertEquals(false, object(""));
    assertEquals(false, object("   "));
    assertEquals(false, object("[{\"a\":1}]"));
    assertEquals(false, object("\"text\""));
    assertEquals(false, object("42"));
    assertEquals(false, object("null"));
    assertEquals(false, object("<html>bad gateway</html>"));
    assertEquals(false, object("{\"a\":"));
    assertEquals(false, object("{\"a\":[1,2}"));
    assertEquals(false, object("{\"a\" 1}"));
  }
}
