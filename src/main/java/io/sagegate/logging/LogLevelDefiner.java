package io.sagegate.logging;

import ch.qos.logback.core.PropertyDefinerBase;
import java.util.Locale;
import java.util.Set;

/**
 * The root log level for logback.xml: the log-level flag (the {@code sagegate.log.level} system
 * property, checked already), else {@code $SAGEGATE_LOG_LEVEL}, else INFO. A value in the
 * environment that is no level falls back to INFO with a warning on stderr naming it (logback alone
 * would read it as DEBUG, silently).
 */
public final class LogLevelDefiner extends PropertyDefinerBase {

  static final String ENV = "SAGEGATE_LOG_LEVEL";
  static final Set<String> LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

  @Override
  public String getPropertyValue() {
    String flag = System.getProperty(LogSettings.LEVEL_PROPERTY);
    if (flag != null && LEVELS.contains(flag.toUpperCase(Locale.ROOT))) {
      return flag.toUpperCase(Locale.ROOT);
    }
    String env = System.getenv(ENV);
    if (env == null || env.isBlank()) {
      return "INFO";
    }
    String level = env.trim().toUpperCase(Locale.ROOT);
    if (LEVELS.contains(level)) {
      return level;
    }
    addWarn(
        ENV + "='" + env + "' is not one of trace, debug, info, warn, error, off; logging at INFO");
    return "INFO";
  }
}
