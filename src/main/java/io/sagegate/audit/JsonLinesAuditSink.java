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
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
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
  /** How long the writer rests after a batch, so the next batch can gather. */
  static final long LINGER_MS = 5;
  private static final int BUFFER_BYTES = 64 * 1024;

  private final OutputStream out;
  private final BlockingQueue<AuditRecord> queue = new ArrayBlockingQueue<>(65_536);
  private final Encoder encoder;
  private final Thread writer;
  private volatile boolean closed;

  public JsonLinesAuditSink(OutputStream out) {
    this.out = new BufferedOutputStream(out, BUFFER_BYTES);
    this.encoder = new Encoder(this.out, true);
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
        encoder.write(record);
        flush();
      }
    }
  }

  /** The record as one JSON object (no newline); absent fields are left out. */
  public static byte[] toJson(AuditRecord r) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(512);
    Encoder encoder = new Encoder(bytes, false);
    encoder.write(r);
    encoder.flush();
    return bytes.toByteArray();
  }

  private void drain() {
    while (!closed || !queue.isEmpty()) {
      try {
        AuditRecord record = queue.poll(200, TimeUnit.MILLISECONDS);
        if (record == null) {
          continue;
        }
        synchronized (out) {
          encoder.write(record);
          AuditRecord next;
          while ((next = queue.poll()) != null) {
            encoder.write(next);
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

  private void flush() {
    encoder.flush();
    try {
      out.flush();
    } catch (IOException e) {
      LOG.error("Could not flush audit records: {}", e.toString());
    }
  }

  /**
   * Encodes records with one Jackson generator kept for the sink's life, straight into the
   * output buffer. Jackson's own number and date helpers were the writer thread's main cost
   * ({@code Instant.toString} and {@code Double.toString} were half of it in a profile at 40 000
   * records/s), so the two are written here: the time as ISO-8601 UTC with microseconds, its
   * date-and-seconds part formatted once per second, and latencies as milliseconds with up to three
   * decimals. Guarded by the sink's lock.
   */
  static final class Encoder {
    private static final DateTimeFormatter SECONDS =
        DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);
    private final OutputStream target;
    private final boolean newline;
    private JsonGenerator g;
    private long second = Long.MIN_VALUE;
    /**
     * "yyyy-MM-ddTHH:mm:ss." of {@link #second}, then six digits and 'Z': 40 chars hold any
     * Instant (a year of up to ten digits and its sign).
     */
    private final char[] time = new char[40];
    private int prefixLength;
    private final char[] number = new char[24];

    Encoder(OutputStream target, boolean newline) {
      this.target = target;
      this.newline = newline;
    }

    void write(AuditRecord r) {
      try {
        if (g == null) {
          g = JSON.createGenerator(target, JsonEncoding.UTF8);
          g.disable(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM);
          g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
          // Records are separated by the newline written after each; Jackson's own separator
          // between root values (a space) would start every line after the first.
          g.setRootValueSeparator(null);
        }
        g.writeStartObject();
        g.writeFieldName("time");
        g.writeString(time, 0, formatTime(r.time));
        g.writeStringField("requestId", r.requestId);
        field("subject", r.subject);
        field("issuer", r.issuer);
        field("jti", r.tokenId);
        field("sourceIp", r.sourceIp);
        field("peerIp", r.peerIp);
        field("method", r.method);
        field("endpoint", r.endpoint);
        field("action", r.action);
        field("targetVariant", r.targetVariant);
        field("targetModel", r.targetModel);
        field("inferenceComponent", r.inferenceComponent);
        field("decision", r.decision);
        field("ruleId", r.ruleId);
        g.writeNumberField("status", r.status);
        field("errorType", r.errorType);
        field("errorReason", r.errorReason);
        if (r.backendStatus > 0) {
          g.writeNumberField("backendStatus", r.backendStatus);
        }
        field("invokedVariant", r.invokedVariant);
        field("upstreamRequestId", r.upstreamRequestId);
        field("roleArn", r.roleArn);
        field("sessionName", r.sessionName);
        field("sourceIdentity", r.sourceIdentity);
        g.writeNumberField("bytesIn", r.bytesIn);
        g.writeNumberField("bytesOut", r.bytesOut);
        millisField("latencyMs", r.totalNanos);
        if (r.backendNanos >= 0) {
          millisField("backendLatencyMs", r.backendNanos);
        }
        g.writeEndObject();
        if (newline) {
          g.writeRaw('\n');
        }
      } catch (IOException | RuntimeException e) {
        // The generator may be stuck half-way through an object: start afresh with the next one.
        LOG.error("Could not write an audit record: {}", e.toString());
        g = null;
      }
    }

    void flush() {
      if (g != null) {
        try {
          g.flush();
        } catch (IOException e) {
          LOG.error("Could not write audit records: {}", e.toString());
          g = null;
        }
      }
    }

    private void field(String name, String value) throws IOException {
      if (value != null) {
        g.writeStringField(name, value);
      }
    }

    /** Milliseconds with microsecond precision, trailing zeros dropped: 0.0, 0.04, 12.345. */
    private void millisField(String name, long nanos) throws IOException {
      long micros = nanos < 0 ? 0 : (nanos + 500) / 1_000;
      int end = number.length;
      long frac = micros % 1_000;
      int decimals = 3;
      while (decimals > 1 && frac % 10 == 0) {
        frac /= 10;
        decimals--;
      }
      for (int i = 0; i < decimals; i++) {
        number[--end] = (char) ('0' + frac % 10);
        frac /= 10;
      }
      number[--end] = '.';
      long whole = micros / 1_000;
      do {
        number[--end] = (char) ('0' + whole % 10);
        whole /= 10;
      } while (whole > 0);
      g.writeFieldName(name);
      g.writeNumber(number, end, number.length - end);
    }

    /** Writes the instant into {@link #time} as 2026-11-22T10:38:55.123456Z; returns the length. */
    private int formatTime(Instant t) {
      long sec = t.getEpochSecond();
      if (sec != second) {
        String prefix = SECONDS.format(Instant.ofEpochSecond(sec));
        prefix.getChars(0, prefix.length(), time, 0);
        prefixLength = prefix.length();
        time[prefixLength++] = '.';
        second = sec;
      }
      int micros = t.getNano() / 1_000;
      for (int i = prefixLength + 5; i >= prefixLength; i--) {
        time[i] = (char) ('0' + micros % 10);
        micros /= 10;
      }
      time[prefixLength + 6] = 'Z';
      return prefixLength + 7;
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
        encoder.write(next);
      }
      flush();
    }
  }
}
