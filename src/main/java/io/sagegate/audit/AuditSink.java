package io.sagegate.audit;

/**
 * Where finished audit records go. A sink that cannot write says so ({@link #healthy()}, {@link
 * #failedRecords()}), so the gateway can show it on {@code /readyz} and in its metrics, and refuse
 * calls it could not audit ({@code audit.onFailure}).
 */
public interface AuditSink extends AutoCloseable {

  void write(AuditRecord record);

  /** False from a write that failed until one succeeds again. */
  default boolean healthy() {
    return true;
  }

  /** Records that could not be written, since start. */
  default long failedRecords() {
    return 0;
  }

  /** Writes out every record handed in so far (at shutdown, after the last call has ended). */
  default void flush() {}

  @Override
  default void close() {}
}
