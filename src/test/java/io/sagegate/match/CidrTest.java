package io.sagegate.match;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Addresses compare and match as addresses, whatever their text form. */
class CidrTest {

  @ParameterizedTest(name = "{0} = {1}")
  @CsvSource({
    "::1, 0:0:0:0:0:0:0:1",
    "::1, 0000:0000:0000:0000:0000:0000:0000:0001",
    "2001:db8::1, 2001:DB8:0:0:0:0:0:1",
    "::ffff:10.0.0.1, 10.0.0.1",
    "10.0.0.1, ::ffff:10.0.0.1",
    "0:0:0:0:0:ffff:a00:1, 10.0.0.1",
    "::ffff:a00:1, ::ffff:10.0.0.1",
    "fe80::1%eth0, fe80:0:0:0:0:0:0:1",
    "10.0.0.1, 10.0.0.1",
    "010.0.0.1, 10.0.0.1"
  })
  void sameAddressInAnotherForm(String a, String b) {
    assertTrue(Cidr.sameAddress(a, b));
    assertTrue(Cidr.sameAddress(b, a));
  }

  @ParameterizedTest(name = "{0} != {1}")
  @CsvSource({
    "10.0.0.1, 10.0.0.2",
    "::1, ::2",
    "::1, 127.0.0.1",
    // IPv4-compatible (deprecated) is not IPv4-mapped: another address.
    "::10.0.0.1, 10.0.0.1",
    "::ffff:10.0.0.1, 10.0.0.2",
    "unknown, 10.0.0.1",
    "10.0.0.1, 10.0.0.1.5",
    "localhost, 127.0.0.1"
  })
  void differentAddresses(String a, String b) {
    assertFalse(Cidr.sameAddress(a, b));
    assertFalse(Cidr.sameAddress(b, a));
  }

  @Test
  void nullIsNoAddress() {
    assertFalse(Cidr.sameAddress(null, "10.0.0.1"));
    assertFalse(Cidr.sameAddress("10.0.0.1", null));
  }

  @ParameterizedTest(name = "{0} contains {1}")
  @CsvSource({
    "::1/128, ::1",
    "::1/128, 0:0:0:0:0:0:0:1",
    "0:0:0:0:0:0:0:1, ::1",
    "10.0.0.0/8, ::ffff:10.1.2.3",
    "10.0.0.0/8, 0:0:0:0:0:ffff:a01:203",
    "::ffff:10.0.0.0/104, 10.1.2.3",
    "::ffff:10.0.0.0/104, ::ffff:10.1.2.3",
    "::ffff:0:0/96, 203.0.113.7",
    "::ffff:10.1.2.3, 10.1.2.3",
    "2001:db8::/32, 2001:DB8:0:0:0:0:0:1"
  })
  void matchesEveryFormOfAnAddress(String cidr, String address) {
    assertTrue(Cidr.parse(cidr).contains(address));
  }

  @ParameterizedTest(name = "{0} does not contain {1}")
  @CsvSource({"::ffff:10.0.0.0/104, 11.0.0.1", "10.0.0.0/8, ::10.1.2.3", "::1/128, 127.0.0.1"})
  void doesNotMatchOtherAddresses(String cidr, String address) {
    assertFalse(Cidr.parse(cidr).contains(address));
  }

  @Test
  void anIpv4MappedNetworkNeedsAPrefixWithinTheMappedRange() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Cidr.parse("::ffff:10.0.0.0/95"));
    assertTrue(e.getMessage().contains("96 to 128"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Cidr.parse("::ffff:10.0.0.0/129"));
    assertEquals("::ffff:10.0.0.0/104", Cidr.parse("::ffff:10.0.0.0/104").toString());
  }
}
