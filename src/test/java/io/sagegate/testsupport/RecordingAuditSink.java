package io.sagegate.testsupport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.audit.AuditRecord;
import io.sagegate.audit.AuditSink;
import io.sagegate.audit.JsonLinesAuditSink;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * An audit sink for tests: encodes each record exactly as the real sink does (the same JSON) and
 * keeps it, so a test can wait for the record of a given request id and check it is the only one.
 */
public final class RecordingAuditSink implements AuditSink {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<JsonNode> records = new CopyOnWriteArrayList<>();
  private final Map<String, CompletableFuture<JsonNode>> byId = new ConcurrentHashMap<>();
  private final List<Waiter> waiters = new CopyOnWriteArrayList<>();

  @Override
  public void write(AuditRecord record) {
    JsonNode json;
    try {
      json = JSON.readTree(JsonLinesAuditSink.toJson(record));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    records.add(json);
    byId.computeIfAbsent(record.requestId(), k -> new CompletableFuture<>()).complete(json);
    waiters.forEach(
        w -> {
          if (w.test().test(json)) {
            w.found().complete(json);
          }
        });
  }

  /**
   * The first record that matches, waiting for it: for a request whose id the caller never saw (it
   * left before the response head).
   */
  public JsonNode awaitFirst(Predicate<JsonNode> test) {
    Waiter w = new Waiter(test, new CompletableFuture<>());
    waiters.add(w);
    records.stream().filter(test).findFirst().ifPresent(w.found()::complete);
    try {
      return w.found().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("no matching audit record among " + records, e);
    } finally {
      waiters.remove(w);
    }
  }

  private record Waiter(Predicate<JsonNode> test, CompletableFuture<JsonNode> found) {}

  /** The record of request {@code requestId}, waiting for the end handler to write it. */
  public JsonNode await(String requestId) {
    try {
      return byId.computeIfAbsent(requestId, k -> new CompletableFuture<>())
          .get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("no audit record for request " + requestId, e);
    }
  }

  /** How many records carry this request id (must be exactly one). */
  public long count(String requestId) {
    return records.stream().filter(r -> requestId.equals(r.path("requestId").asText())).count();
  }

  public List<JsonNode> all() {
    return List.copyOf(records);
  }
}
