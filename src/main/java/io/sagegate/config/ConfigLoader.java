package io.sagegate.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.InvalidFormatException;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the YAML configuration (the format of {@code conf/local.yaml}) into a validated {@link
 * GatewayConfig}, or fails with a {@link ConfigException} listing every problem found.
 *
 * <p>To report every problem rather than the first, each section, endpoint and rule is bound on its
 * own; when binding fails, the offending field is reported, removed and the element bound again, so
 * one typo does not hide the next. {@link ConfigValidator} then checks what bound.
 */
public final class ConfigLoader {

  private static final Logger LOG = LoggerFactory.getLogger(ConfigLoader.class);

  /** The classpath resource holding the embedded default (a copy of conf/local.yaml). */
  public static final String EMBEDDED_RESOURCE = "/io/sagegate/local.yaml";

  /** The name the embedded default is reported under. */
  public static final String EMBEDDED_NAME = "embedded default (conf/local.yaml)";

  private static final List<String> SECTIONS =
      List.of("server", "auth", "audit", "aws", "endpoints", "rules", "admission", "limits");
  private static final int MAX_RETRIES = 64;

  /** Maps keyed by tag or claim names rather than by record fields. */
  private static final Pattern USER_KEYED_MAPS =
      Pattern.compile(
          "(^endpoints\\[\\d+]\\.tags|^rules\\[\\d+]\\.resource\\.tags"
              + "|^rules\\[\\d+]\\.principal\\.claims|^aws\\.sessionTags"
              + "|^limits\\[\\d+]\\.resource\\.tags|^limits\\[\\d+]\\.principal\\.claims)$");

  private static final Pattern FIELD_PREFIX =
      Pattern.compile("^([A-Za-z0-9_.\\[\\]]+): (.*)$", Pattern.DOTALL);

  private static final ObjectMapper YAML =
      new ObjectMapper(new YAMLFactory())
          .enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
  private static final ObjectMapper BINDER =
      JsonMapper.builder()
          .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
          .enable(DeserializationFeature.ACCEPT_SINGLE_VALUE_AS_ARRAY)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
          .addModule(
              new SimpleModule("sagegate-durations")
                  .addDeserializer(Duration.class, new DurationDeserializer()))
          .build();

  /** A configuration and the warnings found in it (doubtful settings it still works with). */
  public record Loaded(GatewayConfig config, List<ConfigError> warnings) {
    public Loaded {
      warnings = List.copyOf(warnings);
    }
  }

  private ConfigLoader() {}

  /** Loads and validates {@code file}; warnings are logged. */
  public static GatewayConfig load(Path file) throws ConfigException {
    return logged(read(file));
  }

  /**
   * Parses and validates YAML text; {@code sourceName} is the file name errors are reported under.
   */
  public static GatewayConfig parse(String yaml, String sourceName) throws ConfigException {
    return logged(read(yaml, sourceName));
  }

  /**
   * The embedded default configuration (the classpath copy of conf/local.yaml).
   *
   * @throws IllegalStateException if the build shipped a broken default
   */
  public static GatewayConfig embeddedDefault() {
    try {
      return parse(embeddedYaml(), EMBEDDED_NAME);
    } catch (ConfigException e) {
      throw new IllegalStateException(
          "the embedded default configuration is invalid:\n" + e.getMessage(), e);
    }
  }

  /** The text of the embedded default. */
  public static String embeddedYaml() {
    try (InputStream in = ConfigLoader.class.getResourceAsStream(EMBEDDED_RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException("classpath resource " + EMBEDDED_RESOURCE + " is missing");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Like {@link #load(Path)}, returning the warnings instead of logging them. */
  public static Loaded read(Path file) throws ConfigException {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException | UncheckedIOException e) {
      throw new ConfigException(
          List.of(
              new ConfigError(file.toString(), "", null, "cannot read the file: " + describe(e))));
    }
    return read(text, file.toString());
  }

  /** Like {@link #parse(String, String)}, returning the warnings instead of logging them. */
  public static Loaded read(String yaml, String sourceName) throws ConfigException {
    return new Run(sourceName).run(yaml);
  }

  private static GatewayConfig logged(Loaded loaded) {
    for (ConfigError w : loaded.warnings()) {
      LOG.warn("configuration warning: {}", w);
    }
    return loaded.config();
  }

  private static String describe(Exception e) {
    Throwable t =
        e instanceof UncheckedIOException u
            ? Objects.requireNonNull(u.getCause(), "an UncheckedIOException wraps an IOException")
            : e;
    return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
  }

  /** One load: the errors found so far and the fields they were found at. */
  private static final class Run {
    private final String file;
    private final List<ConfigError> errors = new ArrayList<>();
    private final Set<String> reported = new HashSet<>();

    Run(String file) {
      this.file = file;
    }

    /** The one error of a file that cannot be read as a configuration at all. */
    private ConfigException wholeFile(@Nullable Object value, String message) {
      return new ConfigException(List.of(new ConfigError(file, "", value, message)));
    }

    Loaded run(String yaml) throws ConfigException {
      JsonNode root;
      try {
        root = YAML.readTree(yaml);
      } catch (JsonProcessingException e) {
        JsonLocation loc = e.getLocation();
        String where =
            loc == null ? "" : "line " + loc.getLineNr() + ", column " + loc.getColumnNr() + ": ";
        throw wholeFile(null, "not valid YAML: " + where + firstLine(e.getOriginalMessage()));
      }
      if (root == null || root.isMissingNode() || root.isNull()) {
        throw wholeFile(null, "the file is empty (expected " + String.join(", ", SECTIONS) + ")");
      }
      if (!root.isObject()) {
        throw wholeFile(
            root.asText(),
            "expected a mapping with " + String.join(", ", SECTIONS) + ", not " + kind(root));
      }
      ObjectNode work = root.deepCopy();
      dropNullListEntries(work, "");
      for (Iterator<String> it = work.fieldNames(); it.hasNext(); ) {
        String name = it.next();
        if (!SECTIONS.contains(name)) {
          report(
              name,
              null,
              "unknown section"
                  + didYouMean(name, SECTIONS)
                  + " (known: "
                  + String.join(", ", SECTIONS)
                  + ")");
        }
      }
      ServerSettings server = bind(work.get("server"), "server", ServerSettings.class);
      AuthSettings auth = bind(work.get("auth"), "auth", AuthSettings.class);
      AuditSettings audit = bind(work.get("audit"), "audit", AuditSettings.class);
      AwsSettings aws = bind(work.get("aws"), "aws", AwsSettings.class);
      List<EndpointConfig> endpoints = new ArrayList<>();
      int[] endpointIndex =
          bindList(work.get("endpoints"), "endpoints", EndpointConfig.class, endpoints);
      List<RuleConfig> rules = new ArrayList<>();
      int[] ruleIndex = bindList(work.get("rules"), "rules", RuleConfig.class, rules);

      AdmissionSettings admission =
          bind(work.get("admission"), "admission", AdmissionSettings.class);
      List<LimitConfig> limits = new ArrayList<>();
      int[] limitIndex = bindList(work.get("limits"), "limits", LimitConfig.class, limits);

      GatewayConfig config =
          new GatewayConfig(server, auth, audit, aws, endpoints, rules, admission, limits);
      ConfigValidator.Result result =
          ConfigValidator.validate(file, config, root, endpointIndex, ruleIndex, reported);
      errors.addAll(result.errors());
      // Limits and concurrency caps are checked apart, by LimitsValidator (issue 18).
      ConfigValidator.Result limitResult =
          LimitsValidator.validate(file, config, endpointIndex, limitIndex, reported);
      errors.addAll(limitResult.errors());
      if (!errors.isEmpty()) {
        throw new ConfigException(errors);
      }
      List<ConfigError> warnings = new ArrayList<>(result.warnings());
      warnings.addAll(limitResult.warnings());
      return new Loaded(config, warnings);
    }

    private <T> int[] bindList(@Nullable JsonNode node, String field, Class<T> type, List<T> out) {
      if (node == null || node.isNull()) {
        return new int[0];
      }
      if (!node.isArray()) {
        report(
            field, node.isValueNode() ? node.asText() : null, "expected a list, not " + kind(node));
        return new int[0];
      }
      int[] index = new int[node.size()];
      for (int i = 0; i < node.size(); i++) {
        T value = bind(node.get(i), field + "[" + i + "]", type);
        if (value != null) {
          index[out.size()] = i;
          out.add(value);
        }
      }
      return Arrays.copyOf(index, out.size());
    }

    /**
     * Binds one element, reporting and removing each field that fails, then trying again; null when
     * the element is absent or cannot be bound (reported).
     */
    private <T> @Nullable T bind(@Nullable JsonNode node, String field, Class<T> type) {
      if (node == null || node.isNull()) {
        return null;
      }
      if (!node.isObject()) {
        report(
            field,
            node.isValueNode() ? node.asText() : null,
            "expected a mapping, not " + kind(node));
        return null;
      }
      ObjectNode work = node.deepCopy();
      for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
        try {
          return BINDER.treeToValue(work, type);
        } catch (JsonMappingException e) {
          List<JsonMappingException.Reference> path = new ArrayList<>(e.getPath());
          if (!handle(e, field, path, work)) {
            return null;
          }
        } catch (IllegalArgumentException | JsonProcessingException e) {
          report(field, null, firstLine(e.getMessage()));
          return null;
        }
      }
      return null;
    }

    /** Reports a binding failure; true when the offending field was removed and a retry helps. */
    private boolean handle(
        JsonMappingException e,
        String base,
        List<JsonMappingException.Reference> path,
        ObjectNode work) {
      Throwable cause = rootCause(e);
      if (cause instanceof IllegalArgumentException || cause instanceof NullPointerException) {
        // A record constructor refused a value; its message names the field ("server.port: ...").
        String message = cause.getMessage() == null ? cause.toString() : cause.getMessage();
        Matcher m = FIELD_PREFIX.matcher(message);
        if (m.matches()) {
          String name = m.group(1).substring(m.group(1).lastIndexOf('.') + 1);
          List<JsonMappingException.Reference> fieldPath = new ArrayList<>(path);
          fieldPath.add(new JsonMappingException.Reference(null, name));
          JsonNode value = at(work, fieldPath);
          report(join(base, fieldPath), value == null ? null : value.asText(), m.group(2));
          return remove(work, fieldPath);
        }
        report(join(base, path), null, message);
        return remove(work, path);
      }
      JsonNode valueNode = at(work, path);
      boolean listExpected = false;
      int last = path.size() - 1;
      if (valueNode == null && last >= 0 && path.get(last).getFieldName() == null) {
        // A single value read as a one-element list (ACCEPT_SINGLE_VALUE_AS_ARRAY) failed:
        // the problem is the field itself, not an element of a list that is not there.
        JsonNode parent = at(work, path.subList(0, last));
        if (parent != null && !parent.isArray()) {
          path = path.subList(0, last);
          valueNode = parent;
          listExpected = true;
        }
      }
      String field = join(base, path);
      Object value = valueNode == null ? null : valueNode.isValueNode() ? valueNode.asText() : null;
      if (e instanceof UnrecognizedPropertyException u) {
        List<String> known =
            u.getKnownPropertyIds() == null
                ? List.of()
                : u.getKnownPropertyIds().stream().map(String::valueOf).toList();
        report(
            field,
            u.getPropertyName(),
            "unknown field"
                + didYouMean(u.getPropertyName(), known)
                + (known.isEmpty()
                    ? ""
                    : " (known: " + String.join(", ", sortedCopy(known)) + ")"));
      } else if (e instanceof InvalidFormatException f
          && f.getTargetType() != null
          && f.getTargetType().isEnum()) {
        String allowed =
            Arrays.stream(f.getTargetType().getEnumConstants())
                .map(c -> c.toString().toLowerCase(java.util.Locale.ROOT))
                .collect(Collectors.joining(", "));
        report(field, f.getValue(), "'" + f.getValue() + "' is not one of " + allowed);
      } else if (e instanceof InvalidFormatException f && f.getTargetType() == Duration.class) {
        report(field, f.getValue(), "'" + f.getValue() + "' " + DurationDeserializer.EXPECTED);
      } else if (e instanceof MismatchedInputException mi) {
        String got =
            valueNode == null
                ? "nothing"
                : kind(valueNode)
                    + (valueNode.isValueNode() ? " '" + valueNode.asText() + "'" : "");
        report(
            field,
            value,
            "expected "
                + (listExpected ? "a list" : expected(mi.getTargetType()))
                + ", not "
                + got);
      } else {
        report(field, value, firstLine(e.getOriginalMessage()));
      }
      return remove(work, path);
    }

    private void report(String field, @Nullable Object value, String message) {
      errors.add(new ConfigError(file, field, value, message));
      reported.add(field);
    }

    /**
     * Removes fields written without a value ({@code principal:}), so that the default applies,
     * except in maps whose keys the user names (tags, claims, session tags), where that is an
     * error; and reports and removes {@code null} list entries ({@code groups: [a, ~]}), which the
     * records' List.copyOf would otherwise refuse without saying where.
     */
    private void dropNullListEntries(JsonNode node, String field) {
      if (node.isObject()) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> e = it.next();
          if (e.getValue().isNull()) {
            String name = field.isEmpty() ? e.getKey() : field + "." + e.getKey();
            if (USER_KEYED_MAPS.matcher(field).find()) {
              // A tag or claim with no value must not silently drop out of a rule and widen it.
              errors.add(
                  new ConfigError(
                      file, name, null, "no value (write one, or \"*\" for any value)"));
              reported.add(name);
            }
            it.remove(); // "key:" with no value is the same as no key: the default applies
            continue;
          }
          dropNullListEntries(
              e.getValue(), field.isEmpty() ? e.getKey() : field + "." + e.getKey());
        }
      } else if (node.isArray()) {
        ArrayNode array = (ArrayNode) node;
        for (int i = array.size() - 1; i >= 0; i--) {
          if (array.get(i).isNull()) {
            errors.add(
                new ConfigError(
                    file,
                    field + "[" + i + "]",
                    null,
                    "empty list entry (remove it, or quote it if it is meant to be a value)"));
            array.remove(i);
          } else {
            dropNullListEntries(array.get(i), field + "[" + i + "]");
          }
        }
      }
    }
  }

  // ---------------------------------------------------------------- tree paths

  private static String join(String base, List<JsonMappingException.Reference> path) {
    StringBuilder sb = new StringBuilder(base);
    for (JsonMappingException.Reference r : path) {
      if (r.getFieldName() != null) {
        if (sb.length() > 0) {
          sb.append('.');
        }
        sb.append(r.getFieldName());
      } else if (r.getIndex() >= 0) {
        sb.append('[').append(r.getIndex()).append(']');
      }
    }
    return sb.toString();
  }

  private static @Nullable JsonNode at(JsonNode root, List<JsonMappingException.Reference> path) {
    JsonNode n = root;
    for (JsonMappingException.Reference r : path) {
      if (n == null) {
        return null;
      }
      n =
          r.getFieldName() != null
              ? n.get(r.getFieldName())
              : r.getIndex() >= 0 ? n.get(r.getIndex()) : n;
    }
    return n;
  }

  /**
   * Removes the field at {@code path} so binding can go on; an error inside a list removes the
   * whole list, so that later positions in it are not misreported. False when nothing can go.
   */
  private static boolean remove(ObjectNode root, List<JsonMappingException.Reference> path) {
    int last = path.size() - 1;
    while (last >= 0 && path.get(last).getFieldName() == null) {
      last--; // an index: remove the list that holds it
    }
    if (last < 0) {
      return false;
    }
    JsonNode parent = at(root, path.subList(0, last));
    if (parent instanceof ObjectNode o && o.has(path.get(last).getFieldName())) {
      o.remove(path.get(last).getFieldName());
      return true;
    }
    return false;
  }

  private static Throwable rootCause(Throwable t) {
    Throwable c = t;
    while (c.getCause() != null && c.getCause() != c) {
      if (c instanceof IllegalArgumentException || c instanceof NullPointerException) {
        return c;
      }
      c = c.getCause();
    }
    return c;
  }

  private static String kind(JsonNode n) {
    if (n.isObject()) {
      return "a mapping";
    }
    if (n.isArray()) {
      return "a list";
    }
    if (n.isBoolean()) {
      return "a boolean";
    }
    if (n.isNumber()) {
      return "a number";
    }
    if (n.isNull()) {
      return "null";
    }
    return "a string";
  }

  private static String expected(Class<?> type) {
    if (type == null) {
      return "another type";
    }
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
      return "a whole number";
    }
    if (type == boolean.class || type == Boolean.class) {
      return "true or false";
    }
    if (type == String.class) {
      return "a string";
    }
    if (type == Duration.class) {
      return "a duration (e.g. 30s)";
    }
    if (Collection.class.isAssignableFrom(type)) {
      return "a list";
    }
    return "a mapping";
  }

  private static String firstLine(@Nullable String s) {
    if (s == null) {
      return "invalid";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private static List<String> sortedCopy(List<String> l) {
    return l.stream().sorted().toList();
  }

  /** {@code " (did you mean 'x'?)"} when a known name is within two edits, else empty. */
  static String didYouMean(String name, Collection<String> known) {
    String best = null;
    int bestDistance = 3;
    for (String k : known) {
      int d =
          distance(name.toLowerCase(java.util.Locale.ROOT), k.toLowerCase(java.util.Locale.ROOT));
      if (d < bestDistance) {
        best = k;
        bestDistance = d;
      }
    }
    return best == null ? "" : " (did you mean '" + best + "'?)";
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }
}
