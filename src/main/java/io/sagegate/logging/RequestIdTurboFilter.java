package io.sagegate.logging;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.MDC;
import org.slf4j.Marker;

/**
 * Puts the id of the request being handled ({@link RequestLogContext}) into the MDC as {@code
 * requestId} just before each log line is made, on the thread that logs it, and takes it out when
 * no request is being handled. The MDC is per thread while an event loop interleaves many requests,
 * so it cannot be set once per request; a turbo filter runs before every logging call, so both the
 * text and the JSON layout read the right id from the standard MDC. Decides nothing.
 */
public final class RequestIdTurboFilter extends TurboFilter {

  public static final String MDC_KEY = "requestId";

  @Override
  public FilterReply decide(
      Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    // Not logger.isEnabledFor(level): that runs the turbo filters again.
    if (level != null && !level.isGreaterOrEqual(logger.getEffectiveLevel())) {
      return FilterReply.NEUTRAL;
    }
    String id = RequestLogContext.current();
    if (id != null) {
      if (!id.equals(MDC.get(MDC_KEY))) {
        MDC.put(MDC_KEY, id);
      }
    } else if (MDC.get(MDC_KEY) != null) {
      MDC.remove(MDC_KEY);
    }
    return FilterReply.NEUTRAL;
  }
}
