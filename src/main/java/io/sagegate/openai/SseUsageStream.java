package io.sagegate.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A chat completion stream (server-sent events) passed through event by event, reading the {@code
 * usage} a chunk carries (the last one seen wins). When the gateway itself asked upstream for
 * {@code stream_options.include_usage} ({@code dropUsageChunk}), the usage-only chunk that brings
 * (no {@code choices}, a {@code usage}) is metered and left out, so the client sees the stream it
 * asked for. Everything else, {@code data: [DONE]} and comments included, passes unchanged; an
 * event is handed on once its blank line has arrived, and whatever is left at the end is handed on
 * as it is.
 */
public final class SseUsageStream implements ReadStream<Buffer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final ReadStream<Buffer> source;
  private final boolean dropUsageChunk;
  private final Consumer<Usage> usage;
  private Buffer pending = Buffer.buffer();
  private @Nullable Handler<Buffer> handler;

  public SseUsageStream(ReadStream<Buffer> source, boolean dropUsageChunk, Consumer<Usage> usage) {
    this.source = source;
    this.dropUsageChunk = dropUsageChunk;
    this.usage = usage;
  }

  @Override
  public SseUsageStream handler(@Nullable Handler<Buffer> handler) {
    this.handler = handler;
    source.handler(handler == null ? null : this::chunk);
    return this;
  }

  private void chunk(Buffer chunk) {
    pending = pending.length() == 0 ? chunk.copy() : pending.appendBuffer(chunk);
    Buffer out = null;
    int start = 0;
    int n = pending.length();
    for (int i = 0; i < n; i++) {
      if (pending.getByte(i) != '\n') {
        continue;
      }
      int j = i + 1;
      if (j < n && pending.getByte(j) == '\r') {
        j++;
      }
      if (j < n && pending.getByte(j) == '\n') {
        Buffer event = pending.getBuffer(start, j + 1);
        if (keep(event)) {
          out = out == null ? event : out.appendBuffer(event);
        }
        start = j + 1;
        i = j;
      }
    }
    pending = start == 0 ? pending : pending.getBuffer(start, n);
    if (out != null && handler != null) {
      handler.handle(out);
    }
  }

  /** Reads the event's usage; false for the usage-only chunk the gateway asked for itself. */
  private boolean keep(Buffer event) {
    String text = event.toString(StandardCharsets.UTF_8);
    if (!text.contains("\"usage\"")) {
      return true;
    }
    StringBuilder data = new StringBuilder();
    for (String line : text.split("\r?\n")) {
      if (line.startsWith("data:")) {
        data.append(line.substring(line.startsWith("data: ") ? 6 : 5));
      }
    }
    JsonNode chunk;
    try {
      chunk = JSON.readTree(data.toString());
    } catch (java.io.IOException | RuntimeException e) {
      return true;
    }
    Usage u = Usage.of(chunk);
    if (u == null) {
      return true;
    }
    usage.accept(u);
    JsonNode choices = chunk.get("choices");
    boolean usageOnly = choices == null || (choices.isArray() && choices.isEmpty());
    return !(dropUsageChunk && usageOnly);
  }

  @Override
  public SseUsageStream exceptionHandler(Handler<Throwable> handler) {
    source.exceptionHandler(handler);
    return this;
  }

  @Override
  public SseUsageStream endHandler(@Nullable Handler<Void> endHandler) {
    source.endHandler(
        endHandler == null
            ? null
            : v -> {
              if (pending.length() > 0 && handler != null) {
                Buffer rest = pending;
                pending = Buffer.buffer();
                if (keep(rest)) {
                  handler.handle(rest);
                }
              }
              endHandler.handle(null);
            });
    return this;
  }

  @Override
  public SseUsageStream pause() {
    source.pause();
    return this;
  }

  @Override
  public SseUsageStream resume() {
    source.resume();
    return this;
  }

  @Override
  public SseUsageStream fetch(long amount) {
    source.fetch(amount);
    return this;
  }
}
