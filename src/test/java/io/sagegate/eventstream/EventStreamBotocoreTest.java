package io.sagegate.eventstream;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.testsupport.PythonTools;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Independent check of our frames: botocore's own event stream parser (what boto3 uses for
 * SageMaker's response stream) must decode them, CRCs included.
 */
class EventStreamBotocoreTest {

  private static final String DECODER =
      String.join(
          "\n",
          "import base64, json, sys",
          "from botocore.eventstream import EventStreamBuffer",
          "buf = EventStreamBuffer()",
          "buf.add_data(open(sys.argv[1], 'rb').read())",
          "out = []",
          "for m in buf:",
          "    out.append({'headers': {k: str(v) for k, v in m.headers.items()},",
          "                'payload': base64.b64encode(m.payload).decode(),",
          "                'status': m.to_response_dict()['status_code']})",
          "print(json.dumps(out))");

  @Test
  void botocoreDecodesOurFrames(@TempDir Path dir) throws Exception {
    byte[] part = "{\"generated_text\": \"héllo\"}".getBytes(StandardCharsets.UTF_8);
    Buffer stream =
        EventStreamFrames.payloadPart(part)
            .appendBuffer(
                EventStreamFrames.modelStreamError("too slow", "ModelInvocationTimeExceeded"))
            .appendBuffer(EventStreamFrames.internalStreamFailure("internal"));
    Path file = dir.resolve("frames.bin");
    Files.write(file, stream.getBytes());

    JsonNode out = new ObjectMapper().readTree(runPython(DECODER, file.toString()));

    assertEquals(3, out.size(), out.toString());
    JsonNode p = out.get(0);
    assertEquals("event", p.get("headers").get(":message-type").asText());
    assertEquals("PayloadPart", p.get("headers").get(":event-type").asText());
    assertEquals("application/octet-stream", p.get("headers").get(":content-type").asText());
    assertEquals(
        new String(part, StandardCharsets.UTF_8),
        new String(
            java.util.Base64.getDecoder().decode(p.get("payload").asText()),
            StandardCharsets.UTF_8));
    assertEquals(200, p.get("status").asInt());

    JsonNode e = out.get(1);
    assertEquals("exception", e.get("headers").get(":message-type").asText());
    assertEquals("ModelStreamError", e.get("headers").get(":exception-type").asText());
    assertEquals("application/json", e.get("headers").get(":content-type").asText());
    JsonNode body =
        new ObjectMapper()
            .readTree(java.util.Base64.getDecoder().decode(e.get("payload").asText()));
    assertEquals("too slow", body.get("Message").asText());
    assertEquals("ModelInvocationTimeExceeded", body.get("ErrorCode").asText());
    // botocore reports exception events as 400s, like AWS does.
    assertEquals(400, e.get("status").asInt());
    assertEquals(
        "InternalStreamFailure", out.get(2).get("headers").get(":exception-type").asText());
  }

  @Test
  void botocoreRejectsWhatOurParserRejects(@TempDir Path dir) throws Exception {
    Buffer frame = EventStreamFrames.payloadPart("abc".getBytes(StandardCharsets.UTF_8));
    int last = frame.length() - 5;
    frame.setByte(last, (byte) (frame.getByte(last) ^ 0x40));
    Path file = dir.resolve("bad.bin");
    Files.write(file, frame.getBytes());
    String script =
        String.join(
            "\n",
            "import sys",
            "from botocore.eventstream import EventStreamBuffer, ChecksumMismatch",
            "buf = EventStreamBuffer()",
            "buf.add_data(open(sys.argv[1], 'rb').read())",
            "try:",
            "    list(buf)",
            "    print('decoded')",
            "except ChecksumMismatch:",
            "    print('checksum-mismatch')");
    assertEquals("checksum-mismatch", runPython(script, file.toString()).trim());
    org.junit.jupiter.api.Assertions.assertThrows(
        EventStreamException.class, () -> new EventStreamParser(f -> {}).feed(frame));
  }

  static String runPython(String script, String... args) throws IOException, InterruptedException {
    PythonTools.require();
    String[] cmd = new String[3 + args.length];
    cmd[0] = "python3";
    cmd[1] = "-c";
    cmd[2] = script;
    System.arraycopy(args, 0, cmd, 3, args.length);
    Process process = new ProcessBuilder(cmd).redirectErrorStream(false).start();
    byte[] stdout = process.getInputStream().readAllBytes();
    byte[] stderr = process.getErrorStream().readAllBytes();
    int rc = process.waitFor();
    if (rc != 0) {
      throw new AssertionError(
          "python3 failed (" + rc + "): " + new String(stderr, StandardCharsets.UTF_8));
    }
    return new String(stdout, StandardCharsets.UTF_8);
  }
}
