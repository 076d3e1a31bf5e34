package io.sagegate.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The sink counts the records a failed write lost, and is healthy again once a write succeeds. */
class JsonLinesAuditSinkFailureTest {

  /** An output that fails while told to, like a disk that is full for a while. */
  private static final class Flaky extends OutputStream {
    final ByteArrayOutputStream written = new ByteArrayOutputStream();
    volatile boolean failing;

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      if (failing) {
        throw new IOException("No space left on device");
      }
      written.write(b, off, len);
    }
  }

  private static AuditRecord record(String id) {
    return new AuditRecord(Instant.now(), 0, id, "10.0.0.1", "POST");
  }

  @Test
  void lostRecordsAreCountedAndASuccessfulWriteEndsTheFailure() {
    Flaky out = new Flaky();
    JsonLinesAuditSink sink = new JsonLinesAuditSink(out);
    sink.write(record("a"));
    sink.flush();
    assertTrue(sink.healthy());
    assertEquals(0, sink.failedRecords());

    out.failing = true;
    sink.write(record("b"));
    sink.write(record("c"));
    sink.flush();
    assertFalse(sink.healthy());
    assertEquals(2, sink.failedRecords(), "both records of the failed write are counted");

    out.failing = false;
    sink.write(record("d"));
    sink.flush();
    assertTrue(sink.healthy(), "healthy again once a write succeeds");
    assertEquals(2, sink.failedRecords());
    sink.close();
    String text = out.written.toString(StandardCharsets.UTF_8);
    assertTrue(text.contains("\"requestId\":\"a\"") && text.contains("\"requestId\":\"d\""), text);
    assertFalse(text.contains("\"requestId\":\"b\""), text);
  }
}
