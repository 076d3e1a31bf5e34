package io.sagegate.audit;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.sagegate.config.AuditSettings;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes audit records as JSON lines (stdout or a file). The thread that finishes a request (its
 * event loop) encodes the record into a buffer of its own; one writer thread hands the buffers to
 * the output, so the event loop never waits on a terminal, a pipe or a disk. Nothing is dropped:
 * when the output stalls and a thread's buffer reaches {@value #MAX_PENDING_BYTES} bytes, that
 * thread writes the buffer itself (slower, but no record is lost).
 *
 * <p>Why the encoding is not on the writer thread (it was): a proxy pinned to one core shares it
 * with the writer, and a writer that woke every few milliseconds to encode a batch held the core
 * for 150-400 us at a time, during which the event loop, runnable, waited and requests queued
 * behind it (per-thread {@code /proc/PID/task/TID/schedstat} at 24 000 requests/s: the writer ran
 * 29 ms a second, the event loop waited 58 ms a second). Encoding a record costs the event loop
 * about a microsecond; the writer now only swaps buffers and makes one write system call per
 * buffer, which is how Envoy writes its access logs too. A record reaches the output at most about
 * {@value #LINGER_MS} ms after its request ends.
 *
 * <p>A write that fails (a closed stdout pipe, a full disk, a file that cannot be opened) loses the
 * records it held: they are counted ({@link #failedRecords()}), the sink is unhealthy until a later
 * write succeeds, and the change is logged once each way. A file is opened again on the next write
 * after a failure, so the sink recovers once the disk has room or the file can be written.
 */
public final class JsonLinesAuditSink implements AuditSink {

  private static final Logger LOG = LoggerFactory.getLogger(JsonLinesAuditSink.class);
  private static final JsonFactory JSON = new JsonFactory();

  /** How long the writer rests between rounds, so records gather into one write. */
  static final long LINGER_MS = 5;

  /** A lane this full wakes the writer early. */
  static final int EARLY_WAKE_BYTES = 256 * 1024;

  /** A lane this full is written by its own thread: the output has stalled. */
  static final int MAX_PENDING_BYTES = 8 * 1024 * 1024;

  private final OutputStream out;

  /**
   * One lane per thread that writes records, kept for the sink's life (event loops live as long).
   */
  private final List<Lane> lanes = new CopyOnWriteArrayList<>();

  private final ThreadLocal<Lane> lane = ThreadLocal.withInitial(this::newLane);
  private final Thread writer;
  private volatile boolean closed;
  private volatile boolean healthy = true;
  private final java.util.concurrent.atomic.AtomicLong failed =
      new java.util.concurrent.atomic.AtomicLong();

  public JsonLinesAuditSink(OutputStream out) {
    this.out = out;
    this.writer = new Thread(this::drain, "sagegate-audit");
    this.writer.setDaemon(true);
    this.writer.start();
  }

  /**
   * The sink {@code settings} name. A file that cannot be opened now does not stop the gateway: the
   * sink starts unhealthy (so {@code /readyz} says so and, with {@code audit.onFailure: refuse},
   * calls are refused) and tries again with every write.
   */
  public static JsonLinesAuditSink create(AuditSettings settings) {
    if (settings.sink().equals("file")) {
      ReopeningFile file = new ReopeningFile(Path.of(settings.file()));
      JsonLinesAuditSink sink = new JsonLinesAuditSink(file);
      try {
        file.open();
      } catch (IOException e) {
        sink.failedWrite(0, e);
      }
      return sink;
    }
    return new JsonLinesAuditSink(new FileOutputStream(java.io.FileDescriptor.out));
  }

  @Override
  public boolean healthy() {
    return healthy;
  }

  @Override
  public long failedRecords() {
    return failed.get();
  }

  private void failedWrite(long records, Exception e) {
    failed.addAndGet(records);
    if (healthy) {
      healthy = false;
      LOG.error(
          "Audit records cannot be written ({}): records are lost and counted in"
              + " sagegate_audit_records_failed_total, /readyz answers 503 until a write succeeds",
          e.toString());
    }
  }

  private void succeededWrite() {
    if (!healthy) {
      healthy = true;
      LOG.info("Audit records are written again ({} lost in all)", failed.get());
    }
  }

  /** A file opened for appending, opened again on the next write after a failure. */
  private static final class ReopeningFile extends OutputStream {
    private final Path path;
    private @Nullable FileOutputStream out;

    ReopeningFile(Path path) {
      this.path = path;
    }

    /** The open file, opened first if it is not. */
    synchronized FileOutputStream open() throws IOException {
      FileOutputStream current = out;
      if (current == null) {
        Path parent = path.getParent();
        if (parent != null) {
          Files.createDirectories(parent);
        }
        current = new FileOutputStream(path.toFile(), true);
        out = current;
      }
      return current;
    }

    @Override
    public synchronized void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      FileOutputStream current = open();
      try {
        current.write(b, off, len);
      } catch (IOException e) {
        try {
          current.close();
        } catch (IOException ignored) {
          // already failing
        }
        out = null;
        throw e;
      }
    }

    @Override
    public synchronized void close() throws IOException {
      if (out != null) {
        out.close();
        out = null;
      }
    }
  }

  @Override
  public void write(AuditRecord record) {
    Lane own = lane.get();
    int pending;
    synchronized (own) {
      own.encoder.write(record);
      own.encoder.flush();
      pending = own.buffer.size();
    }
    if (closed || pending >= MAX_PENDING_BYTES) {
      // The writer has stopped, or cannot keep up with the output: write it here, so nothing is
      // lost.
      writeOut(own);
    } else if (pending >= EARLY_WAKE_BYTES) {
      LockSupport.unpark(writer);
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

  private Lane newLane() {
    Lane l = new Lane();
    lanes.add(l);
    return l;
  }

  private void drain() {
    while (!closed) {
      for (Lane l : lanes) {
        writeOut(l);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(LINGER_MS));
    }
  }

  /**
   * Takes what the lane holds (swapping in its spare buffer, so its thread goes on at once) and
   * writes it in one call. The output lock keeps whole buffers, hence whole lines, apart.
   */
  private void writeOut(Lane l) {
    synchronized (l.taking) {
      Chunk full;
      synchronized (l) {
        if (l.buffer.size() == 0) {
          return;
        }
        full = l.buffer;
        l.buffer = l.spare;
      }
      synchronized (out) {
        try {
          out.write(full.bytes(), 0, full.size());
          out.flush();
          succeededWrite();
        } catch (IOException | RuntimeException e) {
          failedWrite(full.lines(), e);
        }
      }
      full.reset();
      l.spare = full;
    }
  }

  /**
   * One thread's pending records and the buffer that takes over while they are written. The encoder
   * writes to the lane, which passes the bytes on to whichever buffer is current, so the encoder
   * (and its Jackson generator) lives as long as the lane.
   */
  private static final class Lane extends OutputStream {
    /** Held while a buffer is taken and written, so two takers never share the spare. */
    final Object taking = new Object();

    Chunk buffer = new Chunk();
    Chunk spare = new Chunk();
    final Encoder encoder = new Encoder(this, true);

    @Override
    public void write(int b) {
      buffer.write(b);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      buffer.write(b, off, len);
    }
  }

  /**
   * A growable byte buffer whose array is written out directly (no copy, no locking of its own).
   */
  static final class Chunk extends OutputStream {
    private byte[] bytes = new byte[64 * 1024];
    private int size;

    @Override
    public void write(int b) {
      ensure(1);
      bytes[size++] = (byte) b;
    }

    @Override
    public void write(byte[] b, int off, int len) {
      ensure(len);
      System.arraycopy(b, off, bytes, size, len);
      size += len;
    }

    private void ensure(int more) {
      if (size + more > bytes.length) {
        bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, size + more));
      }
    }

    byte[] bytes() {
      return bytes;
    }

    int size() {
      return size;
    }

    /** How many records it holds: one a line, and JSON escapes every newline inside a record. */
    long lines() {
      long n = 0;
      for (int i = 0; i < size; i++) {
        if (bytes[i] == '\n') {
          n++;
        }
      }
      return n;
    }

    void reset() {
      size = 0;
    }
  }

  /**
   * Encodes records with one Jackson generator kept for the encoder's life, straight into the
   * lane's buffer. Jackson's own number and date helpers were the writer thread's main cost ({@code
   * Instant.toString} and {@code Double.toString} were half of it in a profile at 40 000
   * records/s), so the two are written here: the time as ISO-8601 UTC with microseconds, its
   * date-and-seconds part formatted once per second, and latencies as milliseconds with up to three
   * decimals. Not thread-safe: each lane's encoder is guarded by its lane.
   */
  static final class Encoder {
    private static final DateTimeFormatter SECONDS =
        DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss").withZone(ZoneOffset.UTC);
    private final OutputStream target;
    private final boolean newline;
    private @Nullable JsonGenerator g;
    private long second = Long.MIN_VALUE;

    /**
     * "yyyy-MM-ddTHH:mm:ss." of {@link #second}, then six digits and 'Z': 40 chars hold any Instant
     * (a year of up to ten digits and its sign).
     */
    private final char[] time = new char[40];

    private int prefixLength;
    private final char[] number = new char[24];

    Encoder(OutputStream target, boolean newline) {
      this.target = target;
      this.newline = newline;
    }

    /** The generator, made afresh after a failure left the last one half-way through. */
    private JsonGenerator generator() throws IOException {
      JsonGenerator current = g;
      if (current == null) {
        current = JSON.createGenerator(target, JsonEncoding.UTF8);
        current.disable(JsonGenerator.Feature.FLUSH_PASSED_TO_STREAM);
        current.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
        // Records are separated by the newline written after each; Jackson's own separator
        // between root values (a space) would start every line after the first.
        current.setRootValueSeparator(null);
        g = current;
      }
      return current;
    }

    void write(AuditRecord r) {
      try {
        JsonGenerator g = generator();
        g.writeStartObject();
        g.writeFieldName("time");
        g.writeString(time, 0, formatTime(r.time()));
        g.writeStringField("requestId", r.requestId());
        field(g, "subject", r.subject());
        field(g, "issuer", r.issuer());
        field(g, "jti", r.tokenId());
        field(g, "sourceIp", r.sourceIp());
        field(g, "peerIp", r.peerIp());
        field(g, "method", r.method());
        field(g, "endpoint", r.endpoint());
        field(g, "action", r.action());
        field(g, "api", r.api());
        field(g, "targetVariant", r.targetVariant());
        field(g, "targetModel", r.targetModel());
        field(g, "inferenceComponent", r.inferenceComponent());
        field(g, "decision", r.decision());
        field(g, "ruleId", r.ruleId());
        field(g, "limitId", r.limitId());
        g.writeNumberField("status", r.status());
        field(g, "errorType", r.errorType());
        field(g, "errorReason", r.errorReason());
        if (r.backendStatus() > 0) {
          g.writeNumberField("backendStatus", r.backendStatus());
        }
        field(g, "invokedVariant", r.invokedVariant());
        field(g, "upstreamRequestId", r.upstreamRequestId());
        field(g, "roleArn", r.roleArn());
        field(g, "sessionName", r.sessionName());
        field(g, "sourceIdentity", r.sourceIdentity());
        if (r.promptTokens() >= 0) {
          g.writeNumberField("promptTokens", r.promptTokens());
        }
        if (r.completionTokens() >= 0) {
          g.writeNumberField("completionTokens", r.completionTokens());
        }
        g.writeNumberField("bytesIn", r.bytesIn());
        g.writeNumberField("bytesOut", r.bytesOut());
        millisField(g, "latencyMs", r.totalNanos());
        if (r.backendNanos() >= 0) {
          millisField(g, "backendLatencyMs", r.backendNanos());
        }
        g.writeEndObject();
        if (newline) {
          g.writeRaw('\n');
        }
      } catch (IOException | RuntimeException e) {
        // The generator may be stuck half-way through an object: start afresh with the next one.
        LOG.error("Could not write an audit record: {}", e.toString());
        this.g = null;
      }
    }

    void flush() {
      JsonGenerator g = this.g;
      if (g != null) {
        try {
          g.flush();
        } catch (IOException e) {
          LOG.error("Could not write audit records: {}", e.toString());
          g = null;
        }
      }
    }

    private static void field(JsonGenerator g, String name, @Nullable String value)
        throws IOException {
      if (value != null) {
        g.writeStringField(name, value);
      }
    }

    /** Milliseconds with microsecond precision, trailing zeros dropped: 0.0, 0.04, 12.345. */
    private void millisField(JsonGenerator g, String name, long nanos) throws IOException {
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

  /** Writes out every lane now, on the caller's thread. */
  @Override
  public void flush() {
    for (Lane l : lanes) {
      writeOut(l);
    }
  }

  @Override
  public void close() {
    closed = true;
    LockSupport.unpark(writer);
    try {
      writer.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Lane l : lanes) {
      writeOut(l);
    }
  }
}
