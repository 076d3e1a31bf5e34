package io.sagegate.authz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sagegate.match.Glob;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PolicyGlobTest {

  @ParameterizedTest(name = "{0} ~ {1} (ignoreCase={2}) = {3}")
  @CsvSource({
    "*, anything, false, true",
    "*, '', false, true",
    "abc, abc, false, true",
    "abc, ABC, false, false",
    "abc, ABC, true, true",
    "team-*, team-risk, false, true",
    "team-*, team-, false, true",
    "team-*, team, false, false",
    "team-*, TEAM-x, true, true",
    "*-prod, fraud-prod, false, true",
    "*-prod, fraud-prod-2, false, false",
    "a*b*c, abc, false, true",
    "a*b*c, a-b-c, false, true",
    "a*b*c, a-c-b, false, false",
    "a*b*c, ac-b, false, false",
    "a*b*c, acb-c, false, true",
    "ab*ba, aba, false, false",
    "ab*ba, abba, false, true",
    "*mid*, xmidy, false, true",
    "*mid*, MID, true, true",
    "*mid*, mi, false, false",
    "a**b, ab, false, true",
    "bob?, bob1, false, true",
    "bob?, bob, false, false",
    "bob?, bob12, false, false",
    "b?b*, bxbyz, false, true",
    "B?B*, bxbyz, true, true",
    "a.b, axb, false, false",
    "a.b, a.b, false, true",
    "(x)*, (x)y, false, true",
  })
  void matches(String pattern, String value, boolean ignoreCase, boolean expected) {
    assertEquals(expected, Glob.compile(pattern, ignoreCase).matches(value));
  }

  @ParameterizedTest
  @CsvSource({"*", "abc", "a*", "a?"})
  void nullNeverMatches(String pattern) {
    assertEquals(false, Glob.compile(pattern, false).matches(null));
  }

  @org.junit.jupiter.api.Test
  void emptyPatternIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> Glob.compile("", false));
  }
}
