package io.sagegate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.MultiMap;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Which address is the client's, for a peer and the X-Forwarded-For lines it sent. */
class TrustedProxiesTest {

  /** The load balancer's subnet, one ingress pod, and an IPv6 ULA range for the cluster. */
  private static final TrustedProxies PROXIES =
      new TrustedProxies(List.of("10.0.0.0/8", "192.168.1.10", "fd00::/8"));

  static Stream<Arguments> cases() {
    return Stream.of(
        // Spoofing: a client not behind a trusted proxy cannot choose its address.
        row(
            "untrusted peer, header names an outside address",
            "203.0.113.9",
            List.of("198.51.100.1"),
            "203.0.113.9"),
        row(
            "untrusted peer, header names a trusted address",
            "203.0.113.9",
            List.of("10.0.0.7"),
            "203.0.113.9"),
        row(
            "untrusted peer next to a trusted one",
            "192.168.1.11",
            List.of("198.51.100.1"),
            "192.168.1.11"),
        row("untrusted IPv6 peer", "2001:db8::9", List.of("198.51.100.1"), "2001:db8::9"),
        // Behind trusted proxies.
        row("trusted peer, no header", "10.0.0.5", List.of(), "10.0.0.5"),
        row("one proxy", "10.0.0.5", List.of("203.0.113.7"), "203.0.113.7"),
        row(
            "single-host CIDR written as an address",
            "192.168.1.10",
            List.of("203.0.113.7"),
            "203.0.113.7"),
        row(
            "client's own entries left of the real one are not read",
            "10.0.0.5",
            List.of("198.51.100.1, 198.51.100.2, 203.0.113.7"),
            "203.0.113.7"),
        row(
            "client claims a trusted address; the proxy appends the real one",
            "10.0.0.5",
            List.of("10.0.0.7, 203.0.113.7"),
            "203.0.113.7"),
        row(
            "two proxies",
            "10.0.0.5",
            List.of("198.51.100.1, 203.0.113.7, 10.1.2.3"),
            "203.0.113.7"),
        row(
            "every entry trusted: the leftmost",
            "10.0.0.5",
            List.of("10.0.0.7, 10.0.0.8"),
            "10.0.0.7"),
        row(
            "spaces and tabs around entries",
            "10.0.0.5",
            List.of(" 203.0.113.7 ,\t10.1.2.3 "),
            "203.0.113.7"),
        row("IPv4 with a port", "10.0.0.5", List.of("203.0.113.7:5123"), "203.0.113.7"),
        // Several lines are one list.
        row(
            "two lines, client in the last",
            "10.0.0.5",
            List.of("198.51.100.1", "203.0.113.7, 10.1.2.3"),
            "203.0.113.7"),
        row(
            "two lines, client in the first",
            "10.0.0.5",
            List.of("203.0.113.7", "10.1.2.3"),
            "203.0.113.7"),
        row(
            "two lines, every entry trusted",
            "10.0.0.5",
            List.of("10.0.0.4", "10.0.0.6"),
            "10.0.0.4"),
        // IPv6.
        row("IPv6 proxy, IPv6 client", "fd00::1", List.of("2001:db8::1"), "2001:db8::1"),
        row(
            "IPv6 client in brackets with a port",
            "fd00::1",
            List.of("[2001:db8::1]:4711"),
            "2001:db8::1"),
        row("IPv6 client in brackets", "fd00::1", List.of("[2001:db8::1]"), "2001:db8::1"),
        row(
            "IPv6 client through an IPv6 proxy",
            "fd00::1",
            List.of("2001:db8::1, fd12::3"),
            "2001:db8::1"),
        row(
            "IPv4-mapped peer in a trusted IPv4 range",
            "::ffff:10.0.0.5",
            List.of("203.0.113.7"),
            "203.0.113.7"),
        row("IPv4 client through an IPv6 proxy", "fd00::1", List.of("203.0.113.7"), "203.0.113.7"),
        row("long-form IPv6 peer", "fd00:0:0:0:0:0:0:1", List.of("2001:db8::1"), "2001:db8::1"),
        // Garbage ends the walk at the last good address; it is never the client.
        row("unknown", "10.0.0.5", List.of("unknown"), "10.0.0.5"),
        row("a host name (never resolved)", "10.0.0.5", List.of("localhost"), "10.0.0.5"),
        row("garbage right of the client", "10.0.0.5", List.of("203.0.113.7, garbage"), "10.0.0.5"),
        row(
            "garbage left of a trusted proxy",
            "10.0.0.5",
            List.of("garbage, 10.1.2.3"),
            "10.1.2.3"),
        row(
            "garbage left of the client",
            "10.0.0.5",
            List.of("garbage, 203.0.113.7"),
            "203.0.113.7"),
        row("empty entry", "10.0.0.5", List.of("203.0.113.7, , 10.1.2.3"), "10.1.2.3"),
        row("leading comma", "10.0.0.5", List.of(",10.1.2.3"), "10.1.2.3"),
        row("trailing comma", "10.0.0.5", List.of("203.0.113.7,"), "10.0.0.5"),
        row("empty header", "10.0.0.5", List.of(""), "10.0.0.5"),
        row("empty last line", "10.0.0.5", List.of("203.0.113.7", ""), "10.0.0.5"),
        row("octet out of range", "10.0.0.5", List.of("203.0.113.256"), "10.0.0.5"),
        row("five octets", "10.0.0.5", List.of("1.2.3.4.5"), "10.0.0.5"),
        row("CIDR, not an address", "10.0.0.5", List.of("203.0.113.0/24"), "10.0.0.5"),
        row("port not a number", "10.0.0.5", List.of("203.0.113.7:http"), "10.0.0.5"),
        row("port too long", "10.0.0.5", List.of("203.0.113.7:123456"), "10.0.0.5"),
        row("unclosed bracket", "10.0.0.5", List.of("[2001:db8::1"), "10.0.0.5"),
        row("empty brackets", "10.0.0.5", List.of("[]"), "10.0.0.5"),
        row("bracketed with junk after", "10.0.0.5", List.of("[2001:db8::1]x"), "10.0.0.5"),
        row("IPv6 with letters beyond hex", "10.0.0.5", List.of("2001:db8::zz"), "10.0.0.5"),
        row(
            "RFC 7239 syntax is not X-Forwarded-For",
            "10.0.0.5",
            List.of("for=203.0.113.7"),
            "10.0.0.5"),
        row("quoted", "10.0.0.5", List.of("\"203.0.113.7\""), "10.0.0.5"),
        row("unknown peer address", null, List.of("203.0.113.7"), null));
  }

  private static Arguments row(String name, String peer, List<String> lines, String client) {
    return Arguments.of(name, peer, lines, client);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void clientAddress(String name, String peer, List<String> lines, String client) {
    assertEquals(client, PROXIES.clientAddress(peer, lines));
    MultiMap headers = MultiMap.caseInsensitiveMultiMap();
    for (String line : lines) {
      headers.add("x-forwarded-for", line);
    }
    assertEquals(client, PROXIES.clientAddress(peer, headers), "read from request headers");
  }

  /**
   * When the header names the peer's own address, in whatever text form, the client is the peer:
   * its text is returned (the very string), so the audit record does not name it twice.
   */
  @ParameterizedTest(name = "peer {0}, header {1}")
  @org.junit.jupiter.params.provider.CsvSource({
    "0:0:0:0:0:0:0:1, ::1",
    "::1, 0:0:0:0:0:0:0:1",
    "10.0.0.1, ::ffff:10.0.0.1",
    "::ffff:10.0.0.1, 10.0.0.1",
    "0:0:0:0:0:ffff:a00:1, 10.0.0.1",
    "10.0.0.1, '10.0.0.1:5123'",
    "fd00:0:0:0:0:0:0:1, '[fd00::1]:443'"
  })
  void theHeaderNamingThePeerInAnotherFormIsThePeer(String peer, String entry) {
    TrustedProxies proxies = new TrustedProxies(List.of("::1/128", "10.0.0.0/8", "fd00::/8"));
    assertSame(peer, proxies.clientAddress(peer, List.of(entry)));
    assertSame(peer, proxies.clientAddress(peer, List.of(entry + ", " + entry)));
    MultiMap headers = MultiMap.caseInsensitiveMultiMap().add("X-Forwarded-For", entry);
    assertSame(peer, proxies.clientAddress(peer, headers));
    assertEquals("203.0.113.7", proxies.clientAddress(peer, List.of("203.0.113.7, " + entry)));
  }

  @Test
  void noTrustedProxiesMeansNoResolver() {
    assertNull(TrustedProxies.of(List.of()));
    assertNull(TrustedProxies.of(null));
  }

  @Test
  void everyAddressTrustedReadsTheWholeHeader() {
    // What "0.0.0.0/0" means (check warns about it): the leftmost entry, whoever wrote it.
    TrustedProxies all = TrustedProxies.of(List.of("0.0.0.0/0"));
    assertEquals("198.51.100.1", all.clientAddress("203.0.113.9", List.of("198.51.100.1")));
  }

  @Test
  void malformedCidrIsRefusedNamingTheSetting() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new TrustedProxies(List.of("10.0.0.0/8", "10.0.0.0/33")));
    assertTrue(e.getMessage().startsWith("server.trustedProxies[1]: "), e.getMessage());
  }
}
