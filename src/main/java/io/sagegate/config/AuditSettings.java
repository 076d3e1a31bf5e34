package io.sagegate.config;

/**
 * Where audit records go: {@code stdout} (default) or {@code file} (appended, one JSON a line); and
 * what the gateway does while the sink cannot write ({@code onFailure}): {@code refuse} (default)
 * answers new calls 503 rather than serve them unaudited, {@code continue} keeps serving.
 */
public record AuditSettings(String sink, String file, String onFailure) {

  public static final String REFUSE = "refuse";
  public static final String CONTINUE = "continue";

  public AuditSettings {
    sink = sink == null ? "stdout" : sink;
    if (!sink.equals("stdout") && !sink.equals("file")) {
      throw new IllegalArgumentException("audit.sink: '" + sink + "' is not one of stdout, file");
    }
    if (sink.equals("file") && (file == null || file.isBlank())) {
      throw new IllegalArgumentException("audit.file: required when audit.sink is file");
    }
    onFailure = onFailure == null ? REFUSE : onFailure;
    if (!onFailure.equals(REFUSE) && !onFailure.equals(CONTINUE)) {
      throw new IllegalArgumentException(
          "audit.onFailure: '" + onFailure + "' is not one of refuse, continue");
    }
  }

  /** Whether new calls are refused while the sink cannot write. */
  public boolean refuseOnFailure() {
    return onFailure.equals(REFUSE);
  }

  public static AuditSettings defaults() {
    return new AuditSettings(null, null, null);
  }
}
