package io.sagegate.config;

import java.util.List;

/**
 * The outcome of one configuration check by {@link ConfigWatcher}.
 *
 * @param status whether the file was unchanged, applied or refused
 * @param config the configuration serving after the check (the previous one unless RELOADED)
 * @param errors why the file was refused; empty unless REJECTED
 */
public record ReloadResult(Status status, GatewayConfig config, List<ConfigError> errors) {

  public enum Status {
    /** Nothing that reloads live changed (the file may have changed in comments or layout). */
    UNCHANGED,
    /** New endpoints or rules were applied. */
    RELOADED,
    /** The file is invalid or unreadable; the previous configuration keeps serving. */
    REJECTED
  }

  public ReloadResult {
    if (status == null || config == null) {
      throw new IllegalArgumentException("status and config: required");
    }
    errors = errors == null ? List.of() : List.copyOf(errors);
  }

  static ReloadResult unchanged(GatewayConfig config) {
    return new ReloadResult(Status.UNCHANGED, config, List.of());
  }

  static ReloadResult reloaded(GatewayConfig config) {
    return new ReloadResult(Status.RELOADED, config, List.of());
  }

  static ReloadResult rejected(GatewayConfig config, List<ConfigError> errors) {
    return new ReloadResult(Status.REJECTED, config, errors);
  }
}
