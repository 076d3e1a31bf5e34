package io.sagegate.audit;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.auth.Caller;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;

class JsonLinesAuditSinkTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode encode(AuditRecord r) throws Exception {
    return JSON.readTree(JsonLinesAuditSink.toJson(r));
  }

  private static AuditRecord record(Instant time, String id) {
    return new AuditRecord(time, 0, id, "10.0.0.1", "POST");
  }

  /** A caller known by its subject only (no issuer, no token id). */
  private static Caller caller(String subject) {
    return new Caller(subject, null, null, null, null, null, null, null);
  }

  @Test
  void everyRecordBecomesOneLineInOrder() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonLinesAuditSink sink = new JsonLinesAuditSink(out);
    Instant t0 = Instant.parse("2026-11-22T10:00:59.999999Z");
    int n = 5_000;
    for (int i = 0; i < n; i++) {
      AuditRecord r = record(t0.plusNanos(i * 1_000L), "req-" + i);
      r.caller(caller("alice"));
      r.status(200);
      r.finished(i * 1_000L); // the record started at 0
      sink.write(r);
    }
    sink.close();
    List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(n, lines.size());
    for (int i = 0; i < n; i++) {
      String line = lines.get(i);
      assertTrue(line.startsWith("{\"time\":\"") && line.endsWith("}"), "line " + i + ": " + line);
      JsonNode json = JSON.readTree(line);
      assertEquals("req-" + i, json.get("requestId").asText());
      assertEquals(t0.plusNanos(i * 1_000L), Instant.parse(json.get("time").asText()));
      assertEquals(i / 1_000.0, json.get("latencyMs").asDouble(), 1e-9);
    }
  }

  @Test
  void timeIsIsoUtcWithMicroseconds() throws Exception {
    for (String s :
        List.of(
            "2026-11-22T10:38:55.123456789Z",
            "2026-11-22T10:38:00Z",
            "1970-01-01T00:00:00.000001Z",
            "2024-02-29T23:59:59.999999Z",
            "2026-01-01T00:00:00.5Z")) {
      Instant t = Instant.parse(s);
      String written = encode(record(t, "r")).get("time").asText();
      assertEquals(27, written.length(), written);
      assertTrue(written.endsWith("Z"), written);
      assertEquals(t.truncatedTo(ChronoUnit.MICROS), Instant.parse(written), s);
    }
  }

  @Test
  void timeFollowsTheSecondOnOneEncoder() throws Exception {
    // One encoder over many records: the cached date-and-seconds part must change with the second.
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonLinesAuditSink.Encoder encoder = new JsonLinesAuditSink.Encoder(out, true);
    List<Instant> times =
        List.of(
            Instant.parse("2026-11-22T10:38:55.9Z"),
            Instant.parse("2026-11-22T10:38:56.1Z"),
            Instant.parse("2026-11-22T10:38:55.2Z"),
            Instant.parse("2027-01-01T00:00:00Z"));
    times.forEach(t -> encoder.write(record(t, "r")));
    encoder.flush();
    List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
    for (int i = 0; i < times.size(); i++) {
      assertEquals(times.get(i), Instant.parse(JSON.readTree(lines.get(i)).get("time").asText()));
    }
  }

  @Test
  void latenciesAreMillisecondsWithUpToThreeDecimals() throws Exception {
    long[][] cases = {
      {0, 0},
      {-1, 0},
      {40_000, 40},
      {12_345_000, 12_345},
      {1_000_000_000, 1_000_000},
      {1_499, 1},
      {1_500, 2},
      {999_999, 1_000},
      {100_000, 100}
    };
    String[] texts = {"0.0", "0.0", "0.04", "12.345", "1000.0", "0.001", "0.002", "1.0", "0.1"};
    for (int i = 0; i < cases.length; i++) {
      AuditRecord r = record(Instant.EPOCH, "r");
      r.finished(cases[i][0]); // the record started at 0
      r.backendStarted(1);
      r.backendEnded(1 + (cases[i][0] < 0 ? 0 : cases[i][0]));
      String json = new String(JsonLinesAuditSink.toJson(r), StandardCharsets.UTF_8);
      assertTrue(json.contains("\"latencyMs\":" + texts[i] + ","), json);
      assertEquals(
          cases[i][1] / 1_000.0, JSON.readTree(json).get("backendLatencyMs").asDouble(), 1e-9);
    }
  }

  @Test
  void absentFieldsAreLeftOut() throws Exception {
    AuditRecord r = record(Instant.EPOCH, "r1");
    r.status(401);
    r.error("UnauthorizedException", null);
    JsonNode json = encode(r);
    assertEquals(401, json.get("status").asInt());
    assertEquals("UnauthorizedException", json.get("errorType").asText());
    for (String absent :
        List.of(
            "subject",
            "issuer",
            "jti",
            "endpoint",
            "decision",
            "ruleId",
            "backendStatus",
            "roleArn",
            "backendLatencyMs",
            "peerIp")) {
      assertFalse(json.has(absent), absent);
    }
  }

  @Test
  void peerIpFollowsSourceIpOnlyWhenAProxyForwardedTheCall() throws Exception {
    AuditRecord direct = record(Instant.EPOCH, "r1");
    assertEquals(
        List.of(
            "time",
            "requestId",
            "sourceIp",
            "method",
            "status",
            "bytesIn",
            "bytesOut",
            "latencyMs"),
        fieldNames(encode(direct)));

    AuditRecord proxied =
        new AuditRecord(Instant.EPOCH, 0, "r2", "203.0.113.7", "10.0.0.5", "POST");
    JsonNode json = encode(proxied);
    assertEquals("203.0.113.7", json.get("sourceIp").asText());
    assertEquals("10.0.0.5", json.get("peerIp").asText());
    assertEquals(
        List.of(
            "time",
            "requestId",
            "sourceIp",
            "peerIp",
            "method",
            "status",
            "bytesIn",
            "bytesOut",
            "latencyMs"),
        fieldNames(json));
  }

  @Test
  void recordsFromManyThreadsAreWholeLinesNoneLostEachThreadInOrder() throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonLinesAuditSink sink = new JsonLinesAuditSink(out);
    int threads = 4;
    int each = 20_000;
    List<Thread> started = new java.util.ArrayList<>();
    for (int t = 0; t < threads; t++) {
      String prefix = "t" + t + "-";
      Thread thread =
          new Thread(
              () -> {
                for (int i = 0; i < each; i++) {
                  sink.write(record(Instant.EPOCH, prefix + i));
                }
              });
      thread.start();
      started.add(thread);
    }
    for (Thread thread : started) {
      thread.join();
    }
    sink.close();
    int[] next = new int[threads];
    List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(threads * each, lines.size());
    for (String line : lines) {
      String[] id = JSON.readTree(line).get("requestId").asText().substring(1).split("-");
      int t = Integer.parseInt(id[0]);
      assertEquals(next[t]++, Integer.parseInt(id[1]), line);
    }
  }

  @Test
  void theWriterThreadWritesTheOutputNotTheCaller() throws Exception {
    java.util.concurrent.CompletableFuture<String> writtenBy =
        new java.util.concurrent.CompletableFuture<>();
    ByteArrayOutputStream out =
        new ByteArrayOutputStream() {
          @Override
          public synchronized void write(byte[] b, int off, int len) {
            super.write(b, off, len);
            writtenBy.complete(Thread.currentThread().getName());
          }
        };
    JsonLinesAuditSink sink = new JsonLinesAuditSink(out);
    sink.write(record(Instant.EPOCH, "r1"));
    assertEquals("sagegate-audit", writtenBy.get(5, java.util.concurrent.TimeUnit.SECONDS));
    sink.close();
    assertEquals(1, out.toString(StandardCharsets.UTF_8).lines().count());
  }

  @Test
  void aStalledOutputHoldsTheCallerInsteadOfLosingRecords() throws Exception {
    java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
    java.util.concurrent.CountDownLatch stalled = new java.util.concurrent.CountDownLatch(1);
    ByteArrayOutputStream out =
        new ByteArrayOutputStream() {
          @Override
          public void write(byte[] b, int off, int len) {
            stalled.countDown();
            try {
              release.await(AWAIT_SECONDS, SECONDS); // a terminal or pipe nobody reads
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            synchronized (this) {
              super.write(b, off, len);
            }
          }
        };
    JsonLinesAuditSink sink = new JsonLinesAuditSink(out);
    int n = 60_000; // about 5 MB per 20 000 records: well over what a lane may hold
    java.util.concurrent.atomic.AtomicInteger written =
        new java.util.concurrent.atomic.AtomicInteger();
    Thread producer =
        new Thread(
            () -> {
              for (int i = 0; i < n; i++) {
                AuditRecord r = record(Instant.EPOCH, "req-" + i);
                r.caller(caller("a-subject-long-enough-to-make-records-of-a-realistic-size"));
                r.endpoint("sentiment-test");
                sink.write(r);
                written.incrementAndGet();
              }
            });
    producer.start();
    assertTrue(stalled.await(5, java.util.concurrent.TimeUnit.SECONDS));
    // The producer must end up waiting for the output, not buffering without bound.
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
    while (producer.getState() != Thread.State.BLOCKED
        && producer.isAlive()
        && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertEquals(Thread.State.BLOCKED, producer.getState());
    assertTrue(written.get() < n, "held back while the output is stalled: " + written.get());
    release.countDown();
    producer.join();
    sink.close();
    List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
    assertEquals(n, lines.size());
    for (int i = 0; i < n; i += 997) {
      assertEquals("req-" + i, JSON.readTree(lines.get(i)).get("requestId").asText());
    }
  }

  private static List<String> fieldNames(JsonNode json) {
    List<String> names = new java.util.ArrayList<>();
    json.fieldNames().forEachRemaining(names::add);
    return names;
  }
}
