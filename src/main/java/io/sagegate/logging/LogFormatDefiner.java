package io.sagegate.logging;

import ch.qos.logback.core.PropertyDefinerBase;
import java.util.Locale;

/**
 * The log format for logback.xml: the log-format flag (the {@code sagegate.log.format} system
 * property), else {@code $SAGEGATE_LOG_FORMAT}, else text. A value in the environment that is
 * neither text nor json falls back to text with a warning on stderr naming it (without this the
 * include of a missing file would leave the gateway with no log output at all).
 */
public final class LogFormatDefiner extends PropertyDefinerBase {

  static final String ENV = "SAGEGATE_LOG_FORMAT";

  @Override
  public String getPropertyValue() {
    String flag = System.getProperty(LogSettings.FORMAT_PROPERTY);
    if (flag != null && isFormat(flag)) {
      return flag.toLowerCase(Locale.ROOT);
    }
    String env = System.getenv(ENV);
    if (env == null || env.isBlank()) {
      return "text";
    }
    if (isFormat(env.trim())) {
      return env.trim().toLowerCase(Locale.ROOT);
    }
    addWarn(ENV + "='" + env + "' is neither text nor json; logging as text");
    return "text";
  }

  private static boolean isFormat(String value) {
    String v = value.toLowerCase(Locale.ROOT);
    return v.equals("text") || v.equals("json");
  }
}
