package io.sagegate.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.deser.std.StdScalarDeserializer;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import java.io.IOException;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Reads durations as people write them in YAML: {@code 500ms}, {@code 30s}, {@code 10m}, {@code
 * 1h}, {@code 2d}, or ISO-8601 ({@code PT30S}). Hand-written because jackson-datatype-jsr310 reads
 * only ISO-8601 or bare numbers (whose unit is then a guess), and it is not on the classpath; a
 * bare number is rejected here for the same reason.
 */
final class DurationDeserializer extends StdScalarDeserializer<Duration> {

  private static final Pattern SIMPLE = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
  static final String EXPECTED = "is not a duration (write e.g. 500ms, 30s, 10m, 1h or PT30S)";

  DurationDeserializer() {
    super(Duration.class);
  }

  @Override
  public Duration deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
    String text =
        p.currentToken() == JsonToken.VALUE_STRING
                || p.currentToken() == JsonToken.VALUE_NUMBER_INT
                || p.currentToken() == JsonToken.VALUE_NUMBER_FLOAT
            ? p.getText().trim()
            : null;
    if (text == null) {
      return (Duration) ctxt.handleUnexpectedToken(Duration.class, p);
    }
    Duration d = parse(text);
    if (d == null) {
      throw InvalidFormatException.from(p, "'" + text + "' " + EXPECTED, text, Duration.class);
    }
    return d;
  }

  /** The duration, or {@code null} when {@code text} is not one. */
  static @Nullable Duration parse(String text) {
    Matcher m = SIMPLE.matcher(text);
    if (m.matches()) {
      long n;
      try {
        n = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        return null;
      }
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    }
    if (text.startsWith("P") || text.startsWith("p")) {
      try {
        return Duration.parse(text);
      } catch (DateTimeParseException e) {
        return null;
      }
    }
    return null;
  }
}
