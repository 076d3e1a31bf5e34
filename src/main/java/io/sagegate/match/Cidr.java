package io.sagegate.match;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * An IPv4 or IPv6 network in CIDR notation ({@code 10.0.0.0/8}, {@code 2001:db8::/32}; a bare
 * address means a single host; an IPv4-mapped network such as {@code ::ffff:10.0.0.0/104} is the
 * IPv4 network it maps, {@code 10.0.0.0/8}, as mapped addresses are their IPv4 address).
 * Hand-written because none of the libraries on the classpath offers a CIDR matcher (Vert.x,
 * Netty's IpSubnetFilterRule is tied to its handler pipeline, and Guava is not here); it is a byte
 * comparison on {@link InetAddress#getAddress()}.
 *
 * <p>Addresses are parsed only as literals, never resolved: {@link #parseAddress} rejects anything
 * that is not a dotted quad or contains no colon, so no text can cause a DNS lookup.
 */
public final class Cidr {

  private final String text;
  private final byte[] network;
  private final int prefix;

  private Cidr(String text, byte[] network, int prefix) {
    this.text = text;
    this.network = network;
    this.prefix = prefix;
  }

  /**
   * Parses {@code address/prefix}.
   *
   * @throws IllegalArgumentException naming the problem if {@code text} is not a CIDR
   */
  public static Cidr parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("'" + text + "' is not a CIDR (e.g. 10.0.0.0/8)");
    }
    String s = text.trim();
    int slash = s.indexOf('/');
    String addressText = slash < 0 ? s : s.substring(0, slash);
    byte[] address = parseAddress(addressText);
    if (address == null) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a CIDR: '" + addressText + "' is not an IPv4 or IPv6 address");
    }
    // An IPv4-mapped network (::ffff:10.0.0.0/104) is written in IPv6 bits but parses to IPv4
    // bytes (as mapped addresses do), so it is the IPv4 network with 96 fewer prefix bits.
    int skipped = address.length == 4 && addressText.indexOf(':') >= 0 ? 96 : 0;
    int max = address.length * 8 + skipped;
    int prefix = max;
    if (slash >= 0) {
      String p = s.substring(slash + 1);
      try {
        prefix = p.isEmpty() || p.length() > 3 ? -1 : Integer.parseInt(p);
      } catch (NumberFormatException e) {
        prefix = -1;
      }
      if (prefix < skipped || prefix > max) {
        throw new IllegalArgumentException(
            "'"
                + text
                + "' is not a CIDR: prefix length must be "
                + skipped
                + " to "
                + max
                + (skipped > 0 ? " for an IPv4-mapped network" : ""));
      }
    }
    prefix -= skipped;
    byte[] network = address.clone();
    mask(network, prefix);
    return new Cidr(s, network, prefix);
  }

  /** Whether the address (from {@link #parseAddress}) lies in this network. */
  public boolean contains(byte @Nullable [] address) {
    if (address == null || address.length != network.length) {
      return false;
    }
    int full = prefix / 8;
    for (int i = 0; i < full; i++) {
      if (address[i] != network[i]) {
        return false;
      }
    }
    int rest = prefix % 8;
    if (rest == 0) {
      return true;
    }
    int m = (0xFF << (8 - rest)) & 0xFF;
    return (address[full] & m) == (network[full] & 0xFF);
  }

  /** Whether {@code address} (text) lies in this network; unparseable text does not. */
  public boolean contains(String address) {
    return contains(parseAddress(address));
  }

  /**
   * The bytes of an IPv4 (4 bytes) or IPv6 (16 bytes; IPv4-mapped addresses come back as 4)
   * literal, or {@code null} if {@code text} is not one. Never resolves names.
   */
  public static byte @Nullable [] parseAddress(@Nullable String text) {
    if (text == null || text.isEmpty()) {
      return null;
    }
    if (text.indexOf(':') < 0) {
      return parseIpv4(text);
    }
    String s = text;
    if (s.startsWith("[") && s.endsWith("]")) {
      s = s.substring(1, s.length() - 1);
    }
    int zone = s.indexOf('%');
    if (zone >= 0) {
      s = s.substring(0, zone); // the zone (interface) does not change which network it is in
    }
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (Character.digit(c, 16) < 0 && c != ':' && c != '.') {
        return null;
      }
    }
    try {
      // Contains a colon, so the JDK parses it as an IPv6 literal and never looks it up.
      return InetAddress.getByName(s).getAddress();
    } catch (UnknownHostException | SecurityException e) {
      return null;
    }
  }

  /**
   * Whether two address literals name the same address, whatever their text form: {@code ::1} and
   * {@code 0:0:0:0:0:0:0:1}, an IPv4-mapped IPv6 address ({@code ::ffff:10.0.0.1}) and its IPv4
   * address, an address with and without its IPv6 zone. Never resolves names; text that is not an
   * address literal is the same only as identical text, null as nothing.
   *
   * <p>Equal text answers without parsing, and two dotted quads are compared without allocating
   * (the common case on the request path, e.g. a PROXY header's source against the TCP peer);
   * anything with a colon is parsed by {@link #parseAddress}.
   */
  public static boolean sameAddress(@Nullable String a, @Nullable String b) {
    if (a == null || b == null) {
      return false;
    }
    if (a.equals(b)) {
      return true;
    }
    if (a.indexOf(':') < 0 && b.indexOf(':') < 0) {
      long x = ipv4Bits(a);
      return x >= 0 && x == ipv4Bits(b);
    }
    byte[] x = parseAddress(a);
    return x != null && Arrays.equals(x, parseAddress(b));
  }

  private static byte @Nullable [] parseIpv4(String s) {
    long bits = ipv4Bits(s);
    if (bits < 0) {
      return null;
    }
    return new byte[] {
      (byte) (bits >>> 24), (byte) (bits >>> 16), (byte) (bits >>> 8), (byte) bits
    };
  }

  /** A dotted quad's 32 bits, or -1 if {@code s} is not one; allocates nothing. */
  private static long ipv4Bits(String s) {
    long out = 0;
    int part = 0;
    int value = -1;
    int digits = 0;
    for (int i = 0; i <= s.length(); i++) {
      char c = i == s.length() ? '.' : s.charAt(i);
      if (c == '.') {
        if (value < 0 || part > 3) {
          return -1;
        }
        out = out << 8 | value;
        part++;
        value = -1;
        digits = 0;
      } else if (c >= '0' && c <= '9') {
        value = (value < 0 ? 0 : value * 10) + (c - '0');
        if (++digits > 3 || value > 255) {
          return -1;
        }
      } else {
        return -1;
      }
    }
    return part == 4 ? out : -1;
  }

  private static void mask(byte[] bytes, int prefix) {
    for (int i = 0; i < bytes.length; i++) {
      int bits = Math.max(0, Math.min(8, prefix - i * 8));
      bytes[i] = (byte) (bytes[i] & ((0xFF << (8 - bits)) & 0xFF));
    }
  }

  /**
   * The prefix length over the network's bytes: 0 to 32 for IPv4 (IPv4-mapped networks included,
   * {@code ::ffff:10.0.0.0/104} is 8), 0 to 128 for IPv6; 0 matches every address of its family.
   */
  public int prefixLength() {
    return prefix;
  }

  @Override
  public String toString() {
    return text;
  }
}
