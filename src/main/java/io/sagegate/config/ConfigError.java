package io.sagegate.config;

import org.jspecify.annotations.Nullable;

/**
 * One problem found in a configuration file, named precisely enough to fix: the file, the field
 * path ({@code rules[2].effect}), the value written there and what is wrong with it.
 *
 * @param file the file (or resource) the configuration came from
 * @param field the field path from the root, empty for the file as a whole
 * @param value the offending value as written, or {@code null} when absent
 * @param message what is wrong, naming the value (e.g. {@code 'alow' is not one of allow, deny})
 */
public record ConfigError(String file, String field, @Nullable Object value, String message) {

  /** {@code file: field: message}, the form printed by {@code check} and logged on reload. */
  @Override
  public String toString() {
    return field == null || field.isEmpty()
        ? file + ": " + message
        : file + ": " + field + ": " + message;
  }
}
