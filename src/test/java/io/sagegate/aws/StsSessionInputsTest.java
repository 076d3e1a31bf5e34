package io.sagegate.aws;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.config.AwsSettings;
import io.sagegate.error.GatewayException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.sts.model.Tag;

/** Session tags and duration: the STS inputs derived from settings and claims. */
class StsSessionInputsTest {

  @Test
  void tagsComeFromClaimsSortedByKey() {
    SessionTags tags =
        new SessionTags(Map.of("team", "team", "tenant", "org.id", "absent", "nope"));
    List<Tag> out = tags.of(Map.of("team", "risk", "org", Map.of("id", "acme:eu/1")));
    assertEquals(
        List.of(
            Tag.builder().key("team").value("risk").build(),
            Tag.builder().key("tenant").value("acme:eu/1").build()),
        out);
  }

  @Test
  void valuesOutsideStsLimitsAreRefusedNotDropped() {
    SessionTags tags = new SessionTags(Map.of("team", "team"));
    for (Object bad :
        List.of("a".repeat(257), "risk;drop", "x\ny", List.of("a", "b"), Map.of("k", "v"))) {
      GatewayException e = assertThrows(GatewayException.class, () -> tags.of(Map.of("team", bad)));
      assertEquals(403, e.status());
      assertTrue(e.getMessage().contains("session tag team"), e.getMessage());
    }
    assertEquals(1, tags.of(Map.of("team", "a".repeat(256))).size());
    assertEquals(1, tags.of(Map.of("team", "")).size());
    assertEquals(1, tags.of(Map.of("team", List.of("only"))).size());
  }

  @Test
  void badKeysAreConfigurationErrors() {
    assertThrows(IllegalArgumentException.class, () -> new SessionTags(Map.of("", "c")));
    assertThrows(
        IllegalArgumentException.class, () -> new SessionTags(Map.of("k".repeat(129), "c")));
    assertThrows(IllegalArgumentException.class, () -> new SessionTags(Map.of("bad;key", "c")));
    assertThrows(IllegalArgumentException.class, () -> new SessionTags(Map.of("aws:team", "c")));
    Map<String, String> many = new HashMap<>();
    for (int i = 0; i < 51; i++) {
      many.put("k" + i, "c");
    }
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new SessionTags(many));
    assertTrue(e.getMessage().startsWith("aws.sessionTags"), e.getMessage());
  }

  @Test
  void durationIsClampedToStsLimits() {
    assertEquals(
        900, StsCredentialsProvider.durationSeconds(settings(Duration.ofMinutes(1), false)));
    assertEquals(
        3600, StsCredentialsProvider.durationSeconds(settings(Duration.ofHours(1), false)));
    assertEquals(
        43200, StsCredentialsProvider.durationSeconds(settings(Duration.ofHours(24), false)));
    assertEquals(3600, StsCredentialsProvider.durationSeconds(settings(Duration.ofHours(6), true)));
    assertEquals(
        1800, StsCredentialsProvider.durationSeconds(settings(Duration.ofMinutes(30), true)));
  }

  @Test
  void stsErrorCodesMapToBoundedLabels() {
    assertEquals("AccessDenied", StsCredentialsProvider.label("AccessDenied"));
    assertEquals("RegionDisabled", StsCredentialsProvider.label("RegionDisabledException"));
    assertEquals("Throttling", StsCredentialsProvider.label("Throttling"));
    assertEquals("other", StsCredentialsProvider.label("ExpiredToken"));
  }

  static AwsSettings settings(Duration d, boolean chaining) {
    return new AwsSettings("us-east-1", null, null, null, null, d, null, null, chaining, 0, null);
  }
}
