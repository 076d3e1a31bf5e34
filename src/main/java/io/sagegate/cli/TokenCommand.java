package io.sagegate.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.auth.DevIssuer;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code sagegate token}: mints a token from the local development issuer, so a laptop with no
 * identity provider can call the gateway. Prints only the token on stdout, for {@code TOKEN=$(java
 * -jar target/sagegate.jar token --sub alice --groups data-scientists)}.
 */
@Command(
    name = "token",
    mixinStandardHelpOptions = true,
    description = {
      "Mint a bearer token from the local development issuer (auth.devIssuer: true).",
      "The signing key is created on first use under the key directory, readable by you only."
    })
public class TokenCommand implements Callable<Integer> {

  /** The lifetime of a token when --ttl is not given. */
  public static final String DEFAULT_TTL = "1h";

  private static final ObjectMapper JSON = new ObjectMapper();

  // picocli injects the spec before call().
  @SuppressWarnings("NullAway.Init")
  @Spec
  CommandSpec spec;

  @SuppressWarnings("NullAway.Init") // required: picocli sets it before call()
  @Option(names = "--sub", required = true, description = "Subject (sub claim), e.g. alice.")
  String subject;

  @Option(
      names = "--groups",
      split = ",",
      paramLabel = "GROUP",
      description = "Groups, comma-separated or repeated.")
  List<String> groups = new ArrayList<>();

  @Option(
      names = "--scopes",
      split = ",",
      paramLabel = "SCOPE",
      description = "Scopes, comma-separated or repeated; sent as a space-separated scope claim.")
  List<String> scopes = new ArrayList<>();

  @Option(names = "--tenant", description = "Tenant claim.")
  @Nullable String tenant;

  @Option(
      names = "--ttl",
      defaultValue = DEFAULT_TTL,
      converter = TtlConverter.class,
      description = "Lifetime, e.g. 15m, 1h, 3600s, 1d or PT1H (default: ${DEFAULT-VALUE}).")
  @SuppressWarnings("NullAway.Init") // picocli sets its default value before call()
  Duration ttl;

  @Option(
      names = "--claim",
      paramLabel = "KEY=VALUE",
      description =
          "Extra claim, repeatable. A value that parses as JSON is used as JSON"
              + " (numbers, true, arrays, objects); anything else is a string.")
  Map<String, String> claims = new LinkedHashMap<>();

  @Option(
      names = "--key-dir",
      paramLabel = "DIR",
      description =
          "Development issuer key directory (default: $SAGEGATE_HOME/dev-issuer or"
              + " ~/.sagegate/dev-issuer).")
  @Nullable Path keyDir;

  public TokenCommand() {}

  @Override
  public Integer call() {
    Map<String, Object> extra = new LinkedHashMap<>();
    claims.forEach((k, v) -> extra.put(k, claimValue(v)));
    Path dir = keyDir == null ? DevIssuer.defaultDir() : keyDir;
    DevIssuer issuer;
    try {
      issuer = DevIssuer.loadOrCreate(dir);
    } catch (RuntimeException e) {
      spec.commandLine().getErr().println("token: " + e.getMessage());
      return 1;
    }
    PrintWriter err = spec.commandLine().getErr();
    if (issuer.created()) {
      err.println("Generated development issuer key " + issuer.keyFile());
      err.flush();
    }
    String token;
    try {
      token = issuer.mint(subject, clean(groups), clean(scopes), tenant, ttl, extra);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    }
    PrintWriter out = spec.commandLine().getOut();
    out.println(token);
    out.flush();
    return 0;
  }

  private static List<String> clean(List<String> values) {
    return values.stream().map(String::trim).filter(s -> !s.isEmpty()).distinct().toList();
  }

  private static Object claimValue(String raw) {
    try {
      return JSON.readValue(raw, Object.class);
    } catch (JsonProcessingException e) {
      return raw;
    }
  }

  /** Durations as 90s, 15m, 1h, 1d (or ISO-8601 PT1H); positive only. */
  public static final class TtlConverter implements ITypeConverter<Duration> {
    private static final Pattern SHORT = Pattern.compile("(\\d{1,9})\\s*(s|m|h|d)");

    @Override
    public Duration convert(String value) {
      String v = value.trim().toLowerCase(Locale.ROOT);
      Duration d;
      Matcher m = SHORT.matcher(v);
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        d =
            switch (m.group(2)) {
              case "s" -> Duration.ofSeconds(n);
              case "m" -> Duration.ofMinutes(n);
              case "h" -> Duration.ofHours(n);
              default -> Duration.ofDays(n);
            };
      } else {
        try {
          d = Duration.parse(value.trim().toUpperCase(Locale.ROOT));
        } catch (DateTimeParseException e) {
          throw new TypeConversionException(
              "'" + value + "' is not a duration; use e.g. 15m, 1h, 3600s or 1d");
        }
      }
      if (d.isZero() || d.isNegative()) {
        throw new TypeConversionException("ttl must be positive, got '" + value + "'");
      }
      return d;
    }
  }
}
