package io.sagegate.config;

import java.net.URI;
import java.util.Locale;

/**
 * A container backend's base URL taken apart: scheme, host, port and path prefix. One parser for
 * {@code check} and for the backend, so a URL the configuration accepts is one the gateway serves.
 *
 * <p>Hand-written for one case {@link URI} does not cover: host names with an underscore, which
 * docker-compose service names often have ({@code http://model_server:8080}). {@code URI} parses
 * them as a "registry-based" authority and gives no host or port; this takes them from the
 * authority instead. Names are never resolved here.
 *
 * @param ssl whether the scheme is https
 * @param host the host name or address (an IPv6 address in brackets, as {@link URI#getHost} has it)
 * @param port the port; the scheme's default when the URL names none
 * @param pathPrefix the raw path without trailing slashes ({@code ""} for none)
 */
public record ContainerUrl(boolean ssl, String host, int port, String pathPrefix) {

  /**
   * @throws IllegalArgumentException naming what is wrong (the message does not repeat the URL)
   */
  public static ContainerUrl parse(URI url) {
    String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException("must be an http:// or https:// URL");
    }
    boolean ssl = scheme.equals("https");
    if (url.getRawUserInfo() != null
        || (url.getHost() == null
            && url.getRawAuthority() != null
            && url.getRawAuthority().indexOf('@') >= 0)) {
      // The backend would not send them: credentials in the URL would only sit in the config.
      throw new IllegalArgumentException("must not carry user information");
    }
    String host = url.getHost();
    int port = url.getPort();
    if (host == null) {
      String authority = url.getRawAuthority();
      if (authority == null || authority.isEmpty()) {
        throw new IllegalArgumentException("must name a host");
      }
      int colon = authority.lastIndexOf(':');
      host = colon < 0 ? authority : authority.substring(0, colon);
      port = colon < 0 ? -1 : port(authority.substring(colon + 1));
      if (!hostName(host)) {
        throw new IllegalArgumentException("'" + host + "' is not a host name");
      }
    }
    if (port > 65_535) { // java.net.URI takes any digits as a port
      throw new IllegalArgumentException("port " + port + " is out of range (1-65535)");
    }
    String prefix = url.getRawPath() == null ? "" : url.getRawPath();
    int end = prefix.length();
    while (end > 0 && prefix.charAt(end - 1) == '/') {
      end--;
    }
    return new ContainerUrl(ssl, host, port > 0 ? port : ssl ? 443 : 80, prefix.substring(0, end));
  }

  /**
   * The URL as it may be shown in an error: user information (a password, say) replaced by {@code
   * ***}, so that {@code check} and the start's error never print it.
   */
  public static String redacted(String url) {
    return withoutCredentials(url, "***");
  }

  /**
   * {@code url} with its user information, if any, replaced by {@code mask}: {@code
   * https://user:secret@host/x} becomes {@code https://MASK@host/x}. Text, not URI parsing, so that
   * a URL too broken to parse is still masked.
   */
  public static String withoutCredentials(String url, String mask) {
    int scheme = url.indexOf("://");
    int at = url.indexOf('@', scheme < 0 ? 0 : scheme + 3);
    int slash = url.indexOf('/', scheme < 0 ? 0 : scheme + 3);
    return scheme < 0 || at < 0 || (slash >= 0 && slash < at)
        ? url
        : url.substring(0, scheme + 3) + mask + url.substring(at);
  }

  private static int port(String text) {
    if (text.isEmpty() || text.length() > 5 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new IllegalArgumentException("'" + text + "' is not a port");
    }
    int port = Integer.parseInt(text);
    if (port < 1 || port > 65_535) {
      throw new IllegalArgumentException("port " + port + " is out of range (1-65535)");
    }
    return port;
  }

  /** Letters, digits, '-', '_' and '.', as DNS and docker-compose names have them. */
  private static boolean hostName(String host) {
    if (host.isEmpty() || host.startsWith(".") || host.startsWith("-")) {
      return false;
    }
    for (int i = 0; i < host.length(); i++) {
      char c = host.charAt(i);
      boolean ok =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '-'
              || c == '_'
              || c == '.';
      if (!ok) {
        return false;
      }
    }
    return true;
  }
}
