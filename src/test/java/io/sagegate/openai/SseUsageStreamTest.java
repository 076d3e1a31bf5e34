package io.sagegate.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The stream relay's metering: usage read from any chunk, the gateway's own usage chunk dropped.
 */
class SseUsageStreamTest {

  private static final String CONTENT =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n";
  private static final String USAGE =
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n";
  private static final String DONE = "data: [DONE]\n\n";

  /** A source the test pushes chunks into. */
  static final class Source implements ReadStream<Buffer> {
    Handler<Buffer> handler;
    Handler<Void> end;

    @Override
    public ReadStream<Buffer> exceptionHandler(Handler<Throwable> h) {
      return this;
    }

    @Override
    public ReadStream<Buffer> handler(Handler<Buffer> h) {
      handler = h;
      return this;
    }

    @Override
    public ReadStream<Buffer> pause() {
      return this;
    }

    @Override
    public ReadStream<Buffer> resume() {
      return this;
    }

    @Override
    public ReadStream<Buffer> fetch(long amount) {
      return this;
    }

    @Override
    public ReadStream<Buffer> endHandler(Handler<Void> h) {
      end = h;
      return this;
    }
  }

  private record Run(String out, Usage usage) {}

  private static Run relay(boolean drop, String... chunks) {
    Source source = new Source();
    Usage[] usage = {null};
    SseUsageStream stream = new SseUsageStream(source, drop, u -> usage[0] = u);
    StringBuilder out = new StringBuilder();
    boolean[] ended = {false};
    stream.handler(b -> out.append(b.toString()));
    stream.endHandler(v -> ended[0] = true);
    for (String c : chunks) {
      source.handler.handle(Buffer.buffer(c));
    }
    source.end.handle(null);
    assertTrue(ended[0]);
    return new Run(out.toString(), usage[0]);
  }

  @Test
  void theUsageChunkTheGatewayAskedForIsMeteredAndDropped() {
    Run r = relay(true, CONTENT, USAGE, DONE);
    assertEquals(CONTENT + DONE, r.out());
    assertEquals(new Usage(5, 2), r.usage());
  }

  @Test
  void aUsageChunkTheClientAskedForIsKept() {
    Run r = relay(false, CONTENT, USAGE, DONE);
    assertEquals(CONTENT + USAGE + DONE, r.out());
    assertEquals(new Usage(5, 2), r.usage());
  }

  @Test
  void eventsSplitAcrossChunksAndCrlfAreHandled() {
    String all = (CONTENT + USAGE + DONE).replace("\n", "\r\n");
    List<String> pieces = new ArrayList<>();
    for (int i = 0; i < all.length(); i += 7) {
      pieces.add(all.substring(i, Math.min(all.length(), i + 7)));
    }
    Run r = relay(true, pieces.toArray(String[]::new));
    assertFalse(r.out().contains("usage"), r.out());
    assertTrue(r.out().endsWith("data: [DONE]\r\n\r\n"));
    assertEquals(new Usage(5, 2), r.usage());
  }

  @Test
  void aStreamWithoutUsageOrWithJunkPassesUnchanged() {
    Run r = relay(true, CONTENT, "data: {not json \"usage\"}\n\n", "tail without blank line");
    assertEquals(CONTENT + "data: {not json \"usage\"}\n\n" + "tail without blank line", r.out());
    assertNull(r.usage());
  }

  @Test
  void upstreamTextIsSanitized() {
    String s =
        OpenAiErrors.sanitize(
            "Received client error (400) from primary with message \"bad\". See "
                + "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#x in account 123456789012,"
                + " role arn:aws:iam::123456789012:role/x\nTraceback (most recent call last):\n  File \"x.py\"");
    assertTrue(s.contains("bad"), s);
    assertFalse(
        s.contains("123456789012") || s.contains("console.aws") || s.contains("Traceback"), s);
    assertEquals(
        "bad", OpenAiErrors.upstreamMessage("{\"error\":{\"message\":\"bad\"}}".getBytes()));
    assertTrue(
        OpenAiErrors.noCapacity("Inference component has no capacity to process this request"));
  }
}
