package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.error.GatewayException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SourceIdentityTest {

  private static final String STS_PATTERN = "[\\w+=,.@-]{2,64}";

  @Test
  void validSubjectsAreKept() {
    assertEquals("alice", SourceIdentity.of("alice"));
    assertEquals("alice@example.com", SourceIdentity.of("alice@example.com"));
    assertEquals("svc_a+b=c,d.e-f", SourceIdentity.of("svc_a+b=c,d.e-f"));
    String max = "a".repeat(64);
    assertEquals(max, SourceIdentity.of(max));
  }

  @Test
  void invalidCharactersAreMappedWithADigest() {
    String mapped = SourceIdentity.of("a/b");
    assertTrue(mapped.startsWith("a-b."), mapped);
    assertTrue(mapped.matches(STS_PATTERN), mapped);
    assertEquals(mapped, SourceIdentity.of("a/b"), "deterministic");
    String unicode = SourceIdentity.of("jürgen müller");
    assertTrue(unicode.matches(STS_PATTERN), unicode);
  }

  @Test
  void noCollisionBetweenMappedAndUnchangedSubjects() {
    String slash = SourceIdentity.of("a/b");
    assertNotEquals(SourceIdentity.of("a-b"), slash);
    assertNotEquals(SourceIdentity.of("a b"), slash);
    assertNotEquals(SourceIdentity.of("a:b"), slash);
    // A subject spelled exactly like another's mapped form is itself mapped again.
    assertNotEquals(slash, SourceIdentity.of(slash));
    assertTrue(SourceIdentity.of(slash).matches(STS_PATTERN));
  }

  @Test
  void manyDistinctSubjectsStayDistinct() {
    Map<String, String> seen = new HashMap<>();
    for (String base : List.of("user", "a", "x".repeat(70))) {
      for (String sep : List.of("", "/", "-", " ", ":", "#", "é", "|", "\\")) {
        for (int i = 0; i < 50; i++) {
          String subject = base + sep + i;
          String id = SourceIdentity.of(subject);
          assertTrue(id.matches(STS_PATTERN), subject + " -> " + id);
          String previous = seen.put(id, subject);
          assertTrue(
              previous == null || previous.equals(subject),
              previous + " and " + subject + " -> " + id);
        }
      }
    }
  }

  @Test
  void tooLongIsShortenedWithADigest() {
    String long1 = "u".repeat(65);
    String long2 = "u".repeat(66);
    String id1 = SourceIdentity.of(long1);
    assertTrue(id1.length() <= 64 && id1.matches(STS_PATTERN), id1);
    assertNotEquals(id1, SourceIdentity.of(long2));
  }

  @Test
  void tooShortIsLengthenedWithADigest() {
    String id = SourceIdentity.of("a");
    assertTrue(id.startsWith("a.") && id.matches(STS_PATTERN), id);
  }

  @Test
  void reservedPrefixAndMissingSubjectAreRefused() {
    for (String bad : new String[] {"aws:admin", "AWS:x", "Aws:federated"}) {
      GatewayException e = assertThrows(GatewayException.class, () -> SourceIdentity.of(bad));
      assertEquals(403, e.status());
      assertTrue(e.getMessage().contains("aws:"), e.getMessage());
    }
    assertEquals(403, assertThrows(GatewayException.class, () -> SourceIdentity.of(null)).status());
    assertEquals(403, assertThrows(GatewayException.class, () -> SourceIdentity.of("  ")).status());
  }
}
