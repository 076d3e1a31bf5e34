package io.sagegate.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * server.drainDelay, server.drainTimeout and audit.onFailure: defaults, values, and clear refusals.
 */
class LifecycleSettingsTest {

  private static final String REST =
      """
      auth: {devIssuer: true}
      endpoints:
        - {name: m, backend: {type: demo}}
      """;

  @Test
  void defaults() throws Exception {
    GatewayConfig c = ConfigLoader.parse(REST, "t.yaml");
    assertEquals(Duration.ofSeconds(5), c.server().drainDelay());
    assertEquals(Duration.ofSeconds(60), c.server().drainTimeout());
    assertEquals("refuse", c.audit().onFailure());
    assertTrue(c.audit().refuseOnFailure());
  }

  @Test
  void setValues() throws Exception {
    GatewayConfig c =
        ConfigLoader.parse(
            """
        server: {drainDelay: 0s, drainTimeout: 10m}
        audit: {onFailure: continue}
        """
                + REST,
            "t.yaml");
    assertEquals(Duration.ZERO, c.server().drainDelay());
    assertEquals(Duration.ofMinutes(10), c.server().drainTimeout());
    assertEquals("continue", c.audit().onFailure());
  }

  @Test
  void badValuesNameTheField() {
    ConfigException e =
        assertThrows(
            ConfigException.class,
            () ->
                ConfigLoader.parse(
                    """
        server: {drainTimeout: soon}
        audit: {onFailure: ignore}
        """
                        + REST,
                    "t.yaml"));
    String text = e.getMessage();
    assertTrue(text.contains("server.drainTimeout") && text.contains("soon"), text);
    assertTrue(text.contains("audit.onFailure") && text.contains("ignore"), text);
  }
}
