package io.sagegate.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.authz.Action;
import io.sagegate.error.GatewayException;
import io.vertx.core.MultiMap;
import org.junit.jupiter.api.Test;

class InvocationHeadersTest {

  @Test
  void readsValidHeaders() {
    MultiMap h = MultiMap.caseInsensitiveMultiMap()
        .add("content-type", "application/json")
        .add(SageMakerHeaders.TARGET_VARIANT, "variant-a")
        .add(SageMakerHeaders.SESSION_ID, "NEW_SESSION");
    InvocationHeaders parsed = InvocationHeaders.from(h, Action.INVOKE);
    assertEquals("application/json", parsed.contentType());
    assertEquals("variant-a", parsed.targetVariant());
    assertEquals("NEW_SESSION", parsed.sessionId());
  }

  @Test
  void refusesVariantBreakingThePattern() {
    MultiMap h = MultiMap.caseInsensitiveMultiMap().add(SageMakerHeaders.TARGET_VARIANT, "-bad");
    GatewayException e = assertThrows(GatewayException.class, () -> InvocationHeaders.from(h, Action.INVOKE));
    assertEquals(400, e.status());
    assertTrue(e.getMessage().contains(SageMakerHeaders.TARGET_VARIANT), e.getMessage());
  }

  @Test
  void refusesOverlongCustomAttributes() {
    MultiMap h = MultiMap.caseInsensitiveMultiMap().add(SageMakerHeaders.CUSTOM_ATTRIBUTES, "x".repeat(1025));
    GatewayException e = assertThrows(GatewayException.class, () -> InvocationHeaders.from(h, Action.INVOKE));
    assertTrue(e.getMessage().contains("1024"), e.getMessage());
  }

  @Test
  void asyncNeedsAnInputLocation() {
    GatewayException e = assertThrows(GatewayException.class,
        () -> InvocationHeaders.from(MultiMap.caseInsensitiveMultiMap(), Action.INVOKE_ASYNC));
    assertTrue(e.getMessage().contains(SageMakerHeaders.INPUT_LOCATION), e.getMessage());
  }

  @Test
  void streamReadsItsOwnAcceptHeader() {
    MultiMap h = MultiMap.caseInsensitiveMultiMap().add(SageMakerHeaders.STREAM_ACCEPT, "text/event-stream");
    assertEquals("text/event-stream", InvocationHeaders.from(h, Action.INVOKE_STREAM).accept());
  }
}
