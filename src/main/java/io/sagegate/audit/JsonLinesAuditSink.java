package io.sagegate.audit;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.sagegate.config.AuditSettings;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes audit records as JSON lines (stdout or a file) from one writer thread, so the event
 * loop never waits on a terminal or a disk. Nothing is dropped: when the queue is full the
 * caller writes the record itself (slower, but the record is not lost).
 *
 * <p>The writer works in batches: it writes every queued record into a buffer, flushes once, then
 * rests {@value #LINGER_MS} ms before looking again. Under load that is one write system call per
 * batch instead of two per record, and the event loop does not wake the writer thread for every
 * record (a waiting writer costs a futex wake-up and a context switch per request, on the same
 * core; measured with bench/run.sh). A record reaches the output at most about
 * {@value #LINGER_MS} ms later than it would otherwise.
 */
public final class JsonLinesAuditSink implements AuditSink {

  private static final Logger LOG = LoggerFactory.getLogger(JsonLinesAuditSink.class);
  private static final JsonFactory JSON = new JsonFactory();
  private static final byte[] NEWLINE = {'\n'};
  /** How long the writer rests after a batch, so the next batch can gather. */
  static final long LINGER_MS = 5;
  private static final int BUFFER_BYTES = 64 * 1024;

  private final OutputStream out;
  private final BlockingQueue<AuditRecord> queue = new ArrayBlockingQueue<>(65_536);
  private final Thread writer;
  private volatile boolean closed;

  public JsonLinesAuditSink(OutputStream out) {
    this.out = new BufferedOutputStream(out, BUFFER_BYTES);
    this.writer = new Thread(this::drain, "sagegate-audit");
    this.writer.setDaemon(true);
    this.writer.start();
  }

  public static JsonLinesAuditSink create(AuditSettings settings) {
    if (settings.sink().equals("file")) {
      try {
        Path path = Path.of(settings.file());
        if (path.getParent() != null) {
          Files.createDirectories(path.getParent());
        }
        return new JsonLinesAuditSink(new FileOutputStream(path.toFile(), true));
      } catch (IOException e) {
        throw new UncheckedIOException("audit.file: cannot open " + settings.file(), e);
      }
    }
    return new JsonLinesAuditSink(new FileOutputStream(java.io.FileDescriptor.out));
  }

  @Override
  public void write(AuditRecord record) {
    // The record is handed over as it is and encoded on the writer thread, off the event loop;
    // the request is over, so nothing changes it any more.
    if (closed || !queue.offer(record)) {
      synchronized (out) {
        writeLine(toJson(record));
        flush();
      }
    }
  }

  /** The record as one JSON object; absent fields are left out. */
  public static byte[] toJson(AuditRecord r) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(512);
    try (JsonGenerator g = JSON.createGenerator(bytes, JsonEncoding.UTF8)) {
      g.writeStartObject();
      g.writeStringField("time", r.time.toString());
      g.writeStringField("requestId", r.requestId);
      field(g, "subject", r.subject);
      field(g, "issuer", r.issuer);
      field(g, "jti", r.tokenId);
      field(g, "sourceIp", r.sourceIp);
      field(g, "method", r.method);
      field(g, "endpoint", r.endpoint);
      field(g, "action", r.action);
      field(g, "targetVariant", r.targetVariant);
      field(g, "targetModel", r.targetModel);
      field(g, "inferenceComponent", r.inferenceComponent);
      field(g, "decision", r.decision);
      field(g, "ruleId", r.ruleId);
      g.writeNumberField("status", r.status);
      field(g, "errorType", r.errorType);
      field(g, "errorReason", r.errorReason);
      if (r.backendStatus > 0) {
        g.writeNumberField("backendStatus", r.backendStatus);
      }
      field(g, "invokedVariant", r.invokedVariant);
      field(g, "upstreamRequestId", r.upstreamRequestId);
      field(g, "roleArn", r.roleArn);
      field(g, "sessionName", r.sessionName);
      field(g, "sourceIdentity", r.sourceIdentity);
      g.writeNumberField("bytesIn", r.bytesIn);
      g.writeNumberField("bytesOut", r.bytesOut);
      g.writeNumberField("latencyMs", millis(r.totalNanos));
      if (r.backendNanos >= 0) {
        g.writeNumberField("backendLatencyMs", millis(r.backendNanos));
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }

  private static double millis(long nanos) {
    return nanos < 0 ? 0 : Math.round(nanos / 1_000.0) / 1_000.0;
  }

  private static void field(JsonGenerator g, String name, String value) throws IOException {
    if (value != null) {
      g.writeStringField(name, value);
    }
  }

  private void drain() {
    while (!closed || !queue.isEmpty()) {
      try {
        AuditRecord record = queue.poll(200, TimeUnit.MILLISECONDS);
        if (record == null) {
          continue;
        }
        synchronized (out) {
          writeLine(toJson(record));
          AuditRecord next;
          while ((next = queue.poll()) != null) {
            writeLine(toJson(next));
          }
          flush();
        }
        if (!closed) {
          // Rest while the next batch gathers: offer() then finds no waiting writer to signal.
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(LINGER_MS));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void writeLine(byte[] line) {
    try {
      out.write(line);
      out.write(NEWLINE);
    } catch (IOException e) {
      LOG.error("Could not write an audit record: {}", e.toString());
    }
  }

  private void flush() {
    try {
      out.flush();
    } catch (IOException e) {
      LOG.error("Could not flush audit records: {}", e.toString());
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      writer.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (out) {
      AuditRecord next;
      while ((next = queue.poll()) != null) {
        writeLine(toJson(next));
      }
      flush();
    }
  }
}
