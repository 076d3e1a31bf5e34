package io.sagegate.config;

/** Where audit records go: {@code stdout} (default) or {@code file} (appended, one JSON a line). */
public record AuditSettings(String sink, String file) {

  public AuditSettings {
    sink = sink == null ? "stdout" : sink;
    if (!sink.equals("stdout") && !sink.equals("file")) {
      throw new IllegalArgumentException("audit.sink: '" + sink + "' is not one of stdout, file");
    }
    if (sink.equals("file") && (file == null || file.isBlank())) {
      throw new IllegalArgumentException("audit.file: required when audit.sink is file");
    }
  }

  public static AuditSettings defaults() {
    return new AuditSettings(null, null);
  }
}
