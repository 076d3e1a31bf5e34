package io.sagegate.config;

import org.jspecify.annotations.Nullable;

/**
 * Where audit records go: {@code stdout} (default) or {@code file} (appended, one JSON a line); and
 * what the gateway does while the sink cannot write ({@code onFailure}): {@code refuse} (default)
 * answers new calls 503 rather than serve them unaudited, {@code continue} keeps serving.
 */
public record AuditSettings(String sink, @Nullable String file, String onFailure) {

  public static final String REFUSE = "refuse";
  public static final String CONTINUE = "continue";

  /** An absent {@code sink} or {@code onFailure} (null) takes its default. */
  public AuditSettings(@Nullable String sink, @Nullable String file, @Nullable String onFailure) {
    this.sink = sink == null ? "stdout" : sink;
    if (!this.sink.equals("stdout") && !this.sink.equals("file")) {
      throw new IllegalArgumentException(
          "audit.sink: '" + this.sink + "' is not one of stdout, file");
    }
    if (this.sink.equals("file") && (file == null || file.isBlank())) {
      throw new IllegalArgumentException("audit.file: required when audit.sink is file");
    }
    this.file = file;
    this.onFailure = onFailure == null ? REFUSE : onFailure;
    if (!this.onFailure.equals(REFUSE) && !this.onFailure.equals(CONTINUE)) {
      throw new IllegalArgumentException(
          "audit.onFailure: '" + this.onFailure + "' is not one of refuse, continue");
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
