package io.sagegate.match;

import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * An S3 location {@code s3://bucket/key} in normal form, for checking that an async input location
 * falls under an allowed prefix. Hand-written because no library in the build parses S3 URIs with
 * these rules: the bucket is compared exactly (so {@code s3://bucket-evil/} is not under {@code
 * s3://bucket/}), the key as a string prefix, and a key with {@code .} or {@code ..} segments,
 * backslashes, percent-escapes or control characters is refused outright rather than resolved (S3
 * keys are literal, but a gateway must not guess what a later reader will resolve). {@code
 * https://bucket.s3.region.amazonaws.com/key} and path-style {@code
 * https://s3.region.amazonaws.com/bucket/key} forms are accepted too.
 */
public record S3Location(String bucket, String key) {

  /**
   * S3's own hosts, which take the bucket as the first path segment: {@code s3.amazonaws.com},
   * {@code s3.REGION.amazonaws.com}, {@code s3.dualstack.REGION.amazonaws.com} and the legacy
   * {@code s3-REGION.amazonaws.com}. Only these: a virtual-hosted bucket may itself be named {@code
   * s3-...} or {@code s3.<...>}, and is then the bucket, not path-style.
   */
  private static final String S3_SUFFIX =
      "s3(?:\\.dualstack)?(?:\\.[a-z0-9-]+)?\\.amazonaws\\.com(?:\\.cn)?"
          + "|s3-[a-z0-9-]+\\.amazonaws\\.com(?:\\.cn)?";

  private static final Pattern PATH_STYLE_HOST = Pattern.compile(S3_SUFFIX);

  /** {@code BUCKET.} followed by one of S3's hosts (the longest bucket that fits). */
  private static final Pattern VIRTUAL_HOST = Pattern.compile("(.+)\\.(?:" + S3_SUFFIX + ")");

  /** A bucket name as S3 allows it (compiled once: every async call's location is checked). */
  private static final Pattern BUCKET = Pattern.compile("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]");

  /** Parses a location; empty when it is not a well-formed S3 location. */
  public static Optional<S3Location> parse(@Nullable String location) {
    if (location == null) {
      return Optional.empty();
    }
    String bucket;
    String key;
    if (location.startsWith("s3://")) {
      String rest = location.substring(5);
      int slash = rest.indexOf('/');
      bucket = slash < 0 ? rest : rest.substring(0, slash);
      key = slash < 0 ? "" : rest.substring(slash + 1);
    } else if (location.startsWith("https://")) {
      URI uri;
      try {
        uri = URI.create(location);
      } catch (IllegalArgumentException e) {
        return Optional.empty();
      }
      String host = uri.getHost();
      String path = uri.getRawPath() == null ? "" : uri.getRawPath();
      if (host == null
          || uri.getRawUserInfo() != null
          || uri.getRawQuery() != null
          || uri.getRawFragment() != null
          || uri.getPort() != -1) {
        return Optional.empty();
      }
      host = host.toLowerCase(Locale.ROOT);
      Matcher virtual;
      if (PATH_STYLE_HOST.matcher(host).matches()) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        int slash = p.indexOf('/');
        bucket = slash < 0 ? p : p.substring(0, slash);
        key = slash < 0 ? "" : p.substring(slash + 1);
      } else if ((virtual = VIRTUAL_HOST.matcher(host)).matches()) {
        bucket = virtual.group(1);
        key = path.startsWith("/") ? path.substring(1) : path;
      } else {
        return Optional.empty();
      }
    } else {
      return Optional.empty();
    }
    if (!BUCKET.matcher(bucket).matches()) {
      return Optional.empty();
    }
    if (key.contains("\\")
        || key.contains("%")
        || key.chars().anyMatch(c -> c < 0x20 || c == 0x7f)) {
      return Optional.empty();
    }
    for (String segment : key.split("/", -1)) {
      if (segment.equals(".") || segment.equals("..")) {
        return Optional.empty();
      }
    }
    return Optional.of(new S3Location(bucket, key));
  }

  /** Whether this location is the prefix itself or lies under it. */
  public boolean isUnder(S3Location prefix) {
    return bucket.equals(prefix.bucket) && key.startsWith(prefix.key);
  }

  /**
   * Whether {@code location} lies under one of {@code prefixes} (unparseable ones match nothing).
   */
  public static boolean isUnderAny(@Nullable String location, List<String> prefixes) {
    Optional<S3Location> loc = parse(location);
    if (loc.isEmpty()) {
      return false;
    }
    for (String p : prefixes) {
      Optional<S3Location> prefix = parse(p);
      if (prefix.isPresent() && loc.get().isUnder(prefix.get())) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code prefixes} parsed, for {@link #isUnderAny(String, S3Location[])}; unparseable ones left
   * out.
   */
  public static S3Location[] parseAll(List<String> prefixes) {
    return prefixes.stream()
        .map(S3Location::parse)
        .flatMap(Optional::stream)
        .toArray(S3Location[]::new);
  }

  /**
   * Whether {@code location} lies under one of {@code prefixes}, parsed once ({@link #parseAll}).
   */
  public static boolean isUnderAny(@Nullable String location, S3Location[] prefixes) {
    Optional<S3Location> loc = parse(location);
    if (loc.isEmpty()) {
      return false;
    }
    for (S3Location prefix : prefixes) {
      if (loc.get().isUnder(prefix)) {
        return true;
      }
    }
    return false;
  }

  @Override
  public String toString() {
    return "s3://" + bucket + "/" + key;
  }
}
