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
    MultiMap h =
        MultiMap.caseInsensitiveMultiMap()
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
    GatewayException e =
        assertThrows(GatewayException.class, () -> InvocationHeaders.from(h, Action.INVOKE));
    assertEquals(400, e.status());
    assertTrue(e.getMessage().contains(SageMakerHeaders.TARGET_VARIANT), e.getMessage());
  }

  @Test
  void refusesOverlongCustomAttributes() {
    MultiMap h =
        MultiMap.caseInsensitiveMultiMap()
            .add(SageMakerHeaders.CUSTOM_ATTRIBUTES, "x".repeat(1025));
    GatewayException e =
        assertThrows(GatewayException.class, () -> InvocationHeaders.from(h, Action.INVOKE));
    assertTrue(e.getMessage().contains("1024"), e.getMessage());
  }

  @Test
  void asyncNeedsAnInputLocation() {
    GatewayException e =
        assertThrows(
            GatewayException.class,
            () -> InvocationHeaders.from(MultiMap.caseInsensitiveMultiMap(), Action.INVOKE_ASYNC));
    assertTrue(e.getMessage().contains(SageMakerHeaders.INPUT_LOCATION), e.getMessage());
  }

  @Test
  void streamReadsItsOwnAcceptHeader() {
    MultiMap h =
        MultiMap.caseInsensitiveMultiMap().add(SageMakerHeaders.STREAM_ACCEPT, "text/event-stream");
    assertEquals("text/event-stream", InvocationHeaders.from(h, Action.INVOKE_STREAM).accept());
  }

  /** botocore: S3OutputPathExtension 1..512 of [a-zA-Z0-9!_.*'()/-], not starting s3: or https:. */
  @Test
  void asyncOutputPathExtensionFollowsBotocore() {
    MultiMap ok = async().add("X-Amzn-SageMaker-S3OutputPathExtension", "a/b_c.d");
    assertEquals(
        "a/b_c.d", InvocationHeaders.from(ok, Action.INVOKE_ASYNC).s3OutputPathExtension());
    for (String bad : new String[] {"s3://other/x", "a b", "x".repeat(513)}) {
      MultiMap h = async().add("X-Amzn-SageMaker-S3OutputPathExtension", bad);
      GatewayException e =
          assertThrows(
              GatewayException.class, () -> InvocationHeaders.from(h, Action.INVOKE_ASYNC));
      assertEquals(400, e.status());
    }
  }

  /** botocore: Filename 1..32, starts alphanumeric, at most one dot. */
  @Test
  void asyncFilenameFollowsBotocore() {
    MultiMap ok = async().add("X-Amzn-SageMaker-Filename", "result.json");
    assertEquals("result.json", InvocationHeaders.from(ok, Action.INVOKE_ASYNC).filename());
    for (String bad : new String[] {"a.b.c", ".hidden", "x".repeat(33), "a/b"}) {
      MultiMap h = async().add("X-Amzn-SageMaker-Filename", bad);
      GatewayException e =
          assertThrows(
              GatewayException.class, () -> InvocationHeaders.from(h, Action.INVOKE_ASYNC));
      assertEquals(400, e.status());
    }
  }

  /** botocore: async's content type and accept are X-Amzn-SageMaker-Content-Type and -Accept. */
  @Test
  void asyncReadsItsOwnContentTypeAndAccept() {
    MultiMap h =
        async()
            .add("X-Amzn-SageMaker-Content-Type", "text/csv")
            .add("X-Amzn-SageMaker-Accept", "text/plain");
    InvocationHeaders parsed = InvocationHeaders.from(h, Action.INVOKE_ASYNC);
    assertEquals("text/csv", parsed.contentType());
    assertEquals("text/plain", parsed.accept());
  }

  /** botocore: InvokeEndpointWithResponseStream's SessionId has no NEW_SESSION form. */
  @Test
  void streamRefusesNewSession() {
    MultiMap h = MultiMap.caseInsensitiveMultiMap().add(SageMakerHeaders.SESSION_ID, "NEW_SESSION");
    GatewayException e =
        assertThrows(GatewayException.class, () -> InvocationHeaders.from(h, Action.INVOKE_STREAM));
    assertEquals(400, e.status());
    MultiMap ok = MultiMap.caseInsensitiveMultiMap().add(SageMakerHeaders.SESSION_ID, "sess-1");
    assertEquals("sess-1", InvocationHeaders.from(ok, Action.INVOKE_STREAM).sessionId());
  }

  /**
   * A header the operation does not take (botocore's input shapes) is refused, not dropped: rules
   * match on target variant, model and inference component, and a dropped header would let a rule
   * allow a call SageMaker then routes elsewhere (and the audit record name a variant never asked
   * for).
   */
  @Test
  void headersTheOperationDoesNotTakeAreRefused() {
    String[] notAsync = {
      SageMakerHeaders.TARGET_VARIANT,
      SageMakerHeaders.TARGET_MODEL,
      SageMakerHeaders.TARGET_CONTAINER_HOSTNAME,
      SageMakerHeaders.ENABLE_EXPLANATIONS,
      SageMakerHeaders.INFERENCE_COMPONENT,
      SageMakerHeaders.SESSION_ID
    };
    for (String name : notAsync) {
      MultiMap h = async().add(name, "abc");
      GatewayException e =
          assertThrows(
              GatewayException.class, () -> InvocationHeaders.from(h, Action.INVOKE_ASYNC), name);
      assertEquals(400, e.status());
      assertTrue(e.getMessage().contains(name), e.getMessage());
    }
    for (String name :
        new String[] {SageMakerHeaders.TARGET_MODEL, SageMakerHeaders.ENABLE_EXPLANATIONS}) {
      MultiMap h = MultiMap.caseInsensitiveMultiMap().add(name, "abc");
      assertThrows(
          GatewayException.class, () -> InvocationHeaders.from(h, Action.INVOKE_STREAM), name);
    }
    String[] asyncOnly = {
      SageMakerHeaders.INPUT_LOCATION,
      SageMakerHeaders.REQUEST_TTL_SECONDS,
      SageMakerHeaders.INVOCATION_TIMEOUT_SECONDS,
      SageMakerHeaders.S3_OUTPUT_PATH_EXTENSION,
      SageMakerHeaders.FILENAME
    };
    for (Action action : new Action[] {Action.INVOKE, Action.INVOKE_STREAM}) {
      for (String name : asyncOnly) {
        MultiMap h = MultiMap.caseInsensitiveMultiMap().add(name, "s3://bkt/in/x");
        assertThrows(
            GatewayException.class, () -> InvocationHeaders.from(h, action), action + " " + name);
      }
    }
    // What each operation takes still passes.
    MultiMap stream =
        MultiMap.caseInsensitiveMultiMap()
            .add(SageMakerHeaders.TARGET_VARIANT, "a")
            .add(SageMakerHeaders.INFERENCE_COMPONENT, "ic")
            .add(SageMakerHeaders.TARGET_CONTAINER_HOSTNAME, "c");
    assertEquals("a", InvocationHeaders.from(stream, Action.INVOKE_STREAM).targetVariant());
    MultiMap invoke =
        MultiMap.caseInsensitiveMultiMap()
            .add(SageMakerHeaders.TARGET_MODEL, "m.tar.gz")
            .add(SageMakerHeaders.ENABLE_EXPLANATIONS, "`true`");
    assertEquals("m.tar.gz", InvocationHeaders.from(invoke, Action.INVOKE).targetModel());
  }

  private static MultiMap async() {
    return MultiMap.caseInsensitiveMultiMap().add(SageMakerHeaders.INPUT_LOCATION, "s3://bkt/in/x");
  }
}
