package io.sagegate.logging;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.util.ContextInitializer;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;

/**
 * The log format and level chosen on the command line. They win over the environment ({@code
 * SAGEGATE_LOG_FORMAT}, {@code SAGEGATE_LOG_LEVEL}), which logback.xml reads itself.
 */
public final class LogSettings {

  public enum Format {
    TEXT,
    JSON
  }

  public static final String FORMAT_PROPERTY = "sagegate.log.format";
  public static final String LEVEL_PROPERTY = "sagegate.log.level";

  /** Sets the format and/or level (null leaves one as it is) and reconfigures logging. */
  public static void apply(@Nullable Format format, @Nullable String level) {
    if (format != null) {
      System.setProperty(FORMAT_PROPERTY, format.name().toLowerCase(Locale.ROOT));
    }
    if (level != null) {
      String l = level.toUpperCase(Locale.ROOT);
      if (!java.util.Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF").contains(l)) {
        throw new IllegalArgumentException(
            "log level '" + level + "' is not one of trace, debug, info, warn, error, off");
      }
      System.setProperty(LEVEL_PROPERTY, l);
    }
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx) {
      ctx.reset();
      try {
        new ContextInitializer(ctx).autoConfig();
      } catch (Exception e) {
        throw new IllegalStateException("logging could not be configured: " + e.getMessage(), e);
      }
    }
  }

  private LogSettings() {}
}
