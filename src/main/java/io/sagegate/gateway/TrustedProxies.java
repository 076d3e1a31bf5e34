package io.sagegate.gateway;

import io.sagegate.match.Cidr;
import io.vertx.core.MultiMap;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Finds the client's address behind the load balancers and ingress proxies named in {@code
 * server.trustedProxies}, the way Envoy's trusted hops and nginx's {@code real_ip_recursive} do.
 * Only when the TCP peer is itself a trusted proxy is {@code X-Forwarded-For} read: right to left
 * (the proxy nearest to us appended the rightmost entry), skipping addresses that are themselves
 * trusted proxies; the first untrusted address is the client. Entries further left were written by
 * someone we do not trust and are never read, so a client cannot choose its address by sending the
 * header itself.
 *
 * <p>An entry that is not an IP literal ({@code unknown}, a host name, an empty entry or line,
 * garbage) ends the walk: the last address read before it (a trusted proxy, or the peer) is used.
 * When every entry is trusted, the leftmost is. Several {@code X-Forwarded-For} lines count as one
 * comma-joined list. Addresses are parsed as literals only ({@link Cidr#parseAddress}), never
 * resolved.
 *
 * <p>The RFC 7239 {@code Forwarded} header is not read: the proxies sagegate runs behind (AWS ALB,
 * ingress-nginx, Envoy) maintain {@code X-Forwarded-For}, and reading a second header that the
 * proxy passes through untouched would let the client write its own address into it.
 *
 * <p>Immutable and thread-safe. Only built when trusted proxies are configured, so a gateway
 * without them pays nothing. Hand-written: vertx-web's forwarded-header support works on its
 * RoutingContext, which the traffic path does not use. The header is walked by index rather than
 * split, so resolving allocates only the address bytes and the chosen entry's text (about 0.1 us
 * through two IPv4 proxies; TrustedProxiesBenchmark).
 */
public final class TrustedProxies {

  /** The header read, as AWS ALB, ingress-nginx and Envoy write it. */
  public static final String X_FORWARDED_FOR = "X-Forwarded-For";

  private final Cidr[] networks;

  /**
   * @param cidrs the trusted networks, e.g. the cluster's pod CIDR or the load balancer's subnets
   * @throws IllegalArgumentException if one is not a CIDR (a validated config has none)
   */
  public TrustedProxies(List<String> cidrs) {
    networks = new Cidr[cidrs.size()];
    for (int i = 0; i < networks.length; i++) {
      try {
        networks[i] = Cidr.parse(cidrs.get(i));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "server.trustedProxies[" + i + "]: " + e.getMessage(), e);
      }
    }
  }

  /** The resolver for {@code cidrs}, or null when there are none (the headers are ignored). */
  public static @Nullable TrustedProxies of(@Nullable List<String> cidrs) {
    return cidrs == null || cidrs.isEmpty() ? null : new TrustedProxies(cidrs);
  }

  /**
   * The client's address, reading {@code X-Forwarded-For} from {@code headers} only if the peer is
   * a trusted proxy.
   */
  public String clientAddress(String peer, MultiMap headers) {
    byte[] peerBytes = Cidr.parseAddress(peer);
    if (peerBytes == null || !trusted(peerBytes)) {
      return peer;
    }
    return walk(peer, peerBytes, headers.getAll(X_FORWARDED_FOR));
  }

  /**
   * The client's address.
   *
   * @param peer the TCP peer's address (text), null if unknown
   * @param forwardedFor the {@code X-Forwarded-For} lines in the order received (may be empty)
   * @return the client address: {@code peer} unless the peer is trusted and the header names an
   *     address further out (an entry naming the peer's own address, in any text form such as
   *     {@code ::ffff:10.0.0.1} for {@code 10.0.0.1}, is the peer: its text is returned)
   */
  public @Nullable String clientAddress(@Nullable String peer, List<String> forwardedFor) {
    if (peer == null || forwardedFor.isEmpty()) {
      return peer;
    }
    byte[] peerBytes = Cidr.parseAddress(peer);
    if (peerBytes == null || !trusted(peerBytes)) {
      return peer;
    }
    return walk(peer, peerBytes, forwardedFor);
  }

  /** Walks the header lines right to left from a trusted {@code peer}. */
  private String walk(String peer, byte[] peerBytes, List<String> forwardedFor) {
    String client = peer;
    byte[] clientBytes = peerBytes;
    for (int line = forwardedFor.size() - 1; line >= 0; line--) {
      String value = forwardedFor.get(line);
      int end = value.length();
      while (end >= 0) {
        int comma = value.lastIndexOf(',', end - 1);
        String entry = address(value, comma + 1, end);
        end = comma;
        byte[] bytes = Cidr.parseAddress(entry);
        if (entry == null || bytes == null) {
          // garbage (or an empty entry): never trusted, nothing left of it read
          return peerIfSame(client, clientBytes, peer, peerBytes);
        }
        client = entry;
        clientBytes = bytes;
        if (!trusted(bytes)) {
          return peerIfSame(client, clientBytes, peer, peerBytes);
        }
      }
    }
    return peerIfSame(client, clientBytes, peer, peerBytes);
  }

  /**
   * The peer's text when the client is the peer's address written otherwise, so that callers can
   * tell "the client is the peer" by comparing text (the audit record's {@code peerIp}). The bytes
   * are already parsed: a compare of at most 16 bytes, no allocation.
   */
  private static String peerIfSame(
      String client, byte[] clientBytes, String peer, byte[] peerBytes) {
    return client != peer && Arrays.equals(clientBytes, peerBytes) ? peer : client;
  }

  /** Whether the parsed {@code address} is a trusted proxy's; an unparseable one never is. */
  private boolean trusted(byte[] address) {
    for (Cidr c : networks) {
      if (c.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The entry in {@code s[from, to)}, trimmed, without a port ({@code 203.0.113.7:5123}, {@code
   * [2001:db8::1]:5123}; some proxies write one) or IPv6 brackets; null if it is empty or its
   * brackets or port are malformed. The caller checks it is an IP literal.
   */
  static @Nullable String address(String s, int from, int to) {
    while (from < to && isSpace(s.charAt(from))) {
      from++;
    }
    while (to > from && isSpace(s.charAt(to - 1))) {
      to--;
    }
    if (from == to) {
      return null;
    }
    if (s.charAt(from) == '[') {
      int close = s.indexOf(']', from);
      if (close < 0
          || close >= to
          || close == from + 1
          || close + 1 < to && !isPort(s, close + 2, to, s.charAt(close + 1))) {
        return null;
      }
      from++;
      to = close;
    } else {
      int colon = s.indexOf(':', from);
      if (colon >= 0 && colon < to && s.lastIndexOf(':', to - 1) == colon) {
        // One colon: IPv4 with a port (an IPv6 literal has at least two).
        if (!isPort(s, colon + 1, to, ':')) {
          return null;
        }
        to = colon;
      }
    }
    return s.substring(from, to);
  }

  private static boolean isPort(String s, int from, int to, char separator) {
    if (separator != ':' || from >= to || to - from > 5) {
      return false;
    }
    for (int i = from; i < to; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '9') {
        return false;
      }
    }
    return true;
  }

  private static boolean isSpace(char c) {
    return c == ' ' || c == '\t';
  }
}
