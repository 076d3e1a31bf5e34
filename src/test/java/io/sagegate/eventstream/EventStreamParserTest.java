package io.sagegate.eventstream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventStreamParserTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<EventStreamFrame> frames = new ArrayList<>();
  private final EventStreamParser parser = new EventStreamParser(frames::add);

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void roundTripsPayloadPart() {
    parser.feed(EventStreamFrames.payloadPart(utf8("{\"token\":\"hé\"}")));
    parser.end();
    assertEquals(1, frames.size());
    EventStreamFrame f = frames.get(0);
    assertTrue(f.isPayloadPart());
    assertEquals("event", f.messageType());
    assertEquals("PayloadPart", f.type());
    assertEquals("application/octet-stream", f.contentType());
    assertArrayEquals(utf8("{\"token\":\"hé\"}"), f.payload());
  }

  @Test
  void roundTripsEmptyPayloadPart() {
    parser.feed(EventStreamFrames.payloadPart(new byte[0]));
    assertEquals(1, frames.size());
    assertEquals(0, frames.get(0).payload().length);
  }

  @Test
  void roundTripsExceptions() throws Exception {
    parser.feed(
        EventStreamFrames.modelStreamError("model timed out", "ModelInvocationTimeExceeded")
            .appendBuffer(EventStreamFrames.internalStreamFailure("boom")));
    assertEquals(2, frames.size());
    EventStreamFrame mse = frames.get(0);
    assertTrue(mse.isException());
    assertFalse(mse.isPayloadPart());
    assertEquals("exception", mse.messageType());
    assertEquals("ModelStreamError", mse.type());
    assertEquals("application/json", mse.contentType());
    JsonNode body = JSON.readTree(mse.payload());
    assertEquals("model timed out", body.get("Message").asText());
    assertEquals("ModelInvocationTimeExceeded", body.get("ErrorCode").asText());
    EventStreamFrame isf = frames.get(1);
    assertEquals("InternalStreamFailure", isf.type());
    assertEquals("boom", JSON.readTree(isf.payload()).get("Message").asText());
  }

  @Test
  void reassemblesFramesSplitAcrossChunksByteByByte() {
    Buffer all =
        EventStreamFrames.payloadPart(utf8("first"))
            .appendBuffer(EventStreamFrames.payloadPart(utf8("second part")))
            .appendBuffer(EventStreamFrames.modelStreamError("broken", "StreamBroken"));
    for (int i = 0; i < all.length(); i++) {
      parser.feed(all.getBuffer(i, i + 1));
      // A frame is delivered exactly when its last byte arrives, not before.
      if (i < all.length() - 1) {
        assertTrue(frames.size() < 3);
      }
    }
    parser.end();
    assertEquals(
        List.of("first", "second part"),
        frames.subList(0, 2).stream().map(EventStreamFrame::payloadText).toList());
    assertEquals("ModelStreamError", frames.get(2).type());
  }

  @Test
  void deliversSeveralFramesFromOneChunkAndKeepsTheRemainder() {
    Buffer a = EventStreamFrames.payloadPart(utf8("a"));
    Buffer b = EventStreamFrames.payloadPart(utf8("bb"));
    Buffer c = EventStreamFrames.payloadPart(utf8("ccc"));
    Buffer chunk1 = a.copy().appendBuffer(b).appendBuffer(c.getBuffer(0, 5));
    parser.feed(chunk1);
    assertEquals(2, frames.size());
    assertTrue(parser.hasPartialFrame());
    EventStreamException early =
        assertThrows(
            EventStreamException.class,
            () -> {
              EventStreamParser p = new EventStreamParser(f -> {});
              p.feed(chunk1.copy());
              p.end();
            });
    assertTrue(early.getMessage().contains("ended inside a frame"), early.getMessage());
    parser.feed(c.getBuffer(5, c.length()));
    parser.end();
    assertEquals(
        List.of("a", "bb", "ccc"), frames.stream().map(EventStreamFrame::payloadText).toList());
  }

  @Test
  void detectsPayloadCorruptionByMessageCrc() {
    Buffer frame = EventStreamFrames.payloadPart(utf8("hello world"));
    int payloadByte = frame.length() - 4 - 3;
    frame.setByte(payloadByte, (byte) (frame.getByte(payloadByte) ^ 0x01));
    EventStreamException e = assertThrows(EventStreamException.class, () -> parser.feed(frame));
    assertTrue(e.getMessage().contains("invalid event stream frame"), e.getMessage());
    assertTrue(frames.isEmpty());
    // Once broken, always broken: a later valid frame is not delivered.
    assertThrows(
        EventStreamException.class, () -> parser.feed(EventStreamFrames.payloadPart(utf8("x"))));
    assertTrue(frames.isEmpty());
  }

  @Test
  void detectsPreludeCorruption() {
    Buffer frame = EventStreamFrames.payloadPart(utf8("hello"));
    frame.setByte(3, (byte) (frame.getByte(3) + 1));
    EventStreamException e = assertThrows(EventStreamException.class, () -> parser.feed(frame));
    assertTrue(e.getMessage().contains("prelude CRC"), e.getMessage());
  }

  @Test
  void rejectsGarbageAsSoonAsAPreludeIsIn() {
    EventStreamException e =
        assertThrows(
            EventStreamException.class,
            () -> parser.feed(Buffer.buffer("<html><body>502 Bad Gateway</body></html>")));
    assertTrue(e.getMessage().contains("prelude CRC"), e.getMessage());
  }

  @Test
  void shortGarbageIsCaughtAtEnd() {
    parser.feed(Buffer.buffer("oops"));
    assertTrue(frames.isEmpty());
    assertThrows(EventStreamException.class, parser::end);
  }

  @Test
  void rejectsBadMaxFrameSizeNamingTheField() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> new EventStreamParser(f -> {}, 3));
    assertTrue(e.getMessage().contains("maxFrameBytes"));
  }

  @Test
  void rejectsFramesLargerThanTheLimit() {
    EventStreamParser small = new EventStreamParser(frames::add, 64);
    EventStreamException e =
        assertThrows(
            EventStreamException.class,
            () -> small.feed(EventStreamFrames.payloadPart(new byte[200])));
    assertTrue(e.getMessage().contains("outside"), e.getMessage());
  }
}
