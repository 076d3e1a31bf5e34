package io.sagegate.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import java.io.UncheckedIOException;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.RecordComponent;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * The configuration the gateway runs with, as YAML: every setting, defaults filled in, in the
 * configuration records' own order and key names, secrets redacted ({@code sagegate config
 * --effective}). It walks the records' components, so a setting added to a record is printed
 * without more code, and {@link #keys()} lists every key for the configuration reference's test.
 */
public final class EffectiveConfig {

  /** What a secret is printed as. */
  public static final String REDACTED = "<redacted>";

  /**
   * Settings whose value is a secret. {@code aws.externalId} is the shared secret a role's trust
   * policy asks STS for (the confused-deputy guard): whoever reads it can pose as this gateway to
   * that role's trust policy. Credentials written into a URL ({@code https://user:pass@host}) are
   * redacted wherever they appear.
   */
  static final Set<String> SECRET_KEYS = Set.of("aws.externalId");

  private static final ObjectMapper YAML =
      new ObjectMapper(
          new YAMLFactory()
              .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
              .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES));

  private EffectiveConfig() {}

  /** The effective configuration as YAML, secrets redacted. */
  public static String yaml(GatewayConfig config) {
    try {
      return YAML.writeValueAsString(tree(config, ""));
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Every configuration key, dotted, with {@code []} for a list's entries ({@code server.port},
   * {@code endpoints[].backend.url}); maps whose keys the user chooses (tags, claims) are one key.
   */
  public static Set<String> keys() {
    Set<String> keys = new TreeSet<>();
    collectKeys(GatewayConfig.class, "", keys);
    return keys;
  }

  private static void collectKeys(Type type, String path, Set<String> keys) {
    Class<?> raw = raw(type);
    if (raw.isRecord()) {
      for (RecordComponent c : raw.getRecordComponents()) {
        String key = path.isEmpty() ? c.getName() : path + "." + c.getName();
        Type child = c.getGenericType();
        Class<?> childRaw = raw(child);
        if (List.class.isAssignableFrom(childRaw) && element(child).isRecord()) {
          collectKeys(element(child), key + "[]", keys);
        } else if (childRaw.isRecord()) {
          collectKeys(child, key, keys);
        } else {
          keys.add(key);
        }
      }
    }
  }

  private static Class<?> raw(Type type) {
    return type instanceof ParameterizedType p ? (Class<?>) p.getRawType() : (Class<?>) type;
  }

  private static Class<?> element(Type listType) {
    return listType instanceof ParameterizedType p
            && p.getActualTypeArguments()[0] instanceof Class<?> c
        ? c
        : Object.class;
  }

  private static @Nullable Object tree(@Nullable Object value, String path) {
    if (value == null) {
      return null;
    }
    if (SECRET_KEYS.contains(path)) {
      return REDACTED;
    }
    if (value instanceof Record record) {
      Map<String, Object> map = new LinkedHashMap<>();
      for (RecordComponent c : record.getClass().getRecordComponents()) {
        Object child;
        try {
          child = c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
          throw new IllegalStateException("cannot read " + path + "." + c.getName(), e);
        }
        map.put(c.getName(), tree(child, path.isEmpty() ? c.getName() : path + "." + c.getName()));
      }
      return map;
    }
    if (value instanceof List<?> list) {
      List<Object> out = new ArrayList<>();
      for (Object item : list) {
        out.add(tree(item, path + "[]"));
      }
      return out;
    }
    if (value instanceof Map<?, ?> map) {
      // Sorted by key: the records hold user-keyed maps (tags, claims) as Map.copyOf, whose order
      // changes from one JVM to the next, and the same file must print the same way every time.
      Map<String, Object> out = new TreeMap<>();
      map.forEach((k, v) -> out.put(String.valueOf(k), tree(v, path + "." + k)));
      return out;
    }
    if (value instanceof Duration d) {
      return duration(d);
    }
    if (value instanceof Enum<?> e) {
      return e.name().toLowerCase(Locale.ROOT);
    }
    if (value instanceof String s) {
      return withoutUrlCredentials(s);
    }
    return value;
  }

  /** A duration as the configuration is written: 500ms, 30s, 10m, 1h, 2d. */
  static String duration(Duration d) {
    long ms = d.toMillis();
    if (ms % 86_400_000 == 0 && ms != 0) {
      return ms / 86_400_000 + "d";
    }
    if (ms % 3_600_000 == 0 && ms != 0) {
      return ms / 3_600_000 + "h";
    }
    if (ms % 60_000 == 0 && ms != 0) {
      return ms / 60_000 + "m";
    }
    if (ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }

  /** {@code https://user:secret@host/x} becomes {@code https://<redacted>@host/x}. */
  static String withoutUrlCredentials(String s) {
    return ContainerUrl.withoutCredentials(s, REDACTED);
  }
}
