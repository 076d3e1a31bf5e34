package io.sagegate.audit;

/** Where finished audit records go. */
public interface AuditSink extends AutoCloseable {

  void write(AuditRecord record);

  @Override
  default void close() {}
}
