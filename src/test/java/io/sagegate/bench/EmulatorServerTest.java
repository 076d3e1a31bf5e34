package io.sagegate.bench;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.vertx.core.Vertx;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bench emulator's switches do what bench/AWS.md says: with SageMaker auth checks off an
 * unsigned request (as nginx sends it) reaches the endpoint; with them on it is refused; nothing is
 * recorded either way.
 */
class EmulatorServerTest {

  // Test-only credentials the emulator itself defines; not AWS secrets.
  private static final String KEY = "AKIABENCHEMULATOR001";
  private static final String SECRET = "bench-emulator-test-secret";

  private static Vertx vertx;
  private static SageMakerEmulator open;
  private static SageMakerEmulator checked;
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    open = EmulatorServer.start(vertx, KEY, SECRET, false);
    checked = EmulatorServer.start(vertx, KEY, SECRET, true);
  }

  @AfterAll
  static void stop() throws Exception {
    open.stop().await(AWAIT_SECONDS, SECONDS);
    checked.stop().await(AWAIT_SECONDS, SECONDS);
    vertx.close().await(AWAIT_SECONDS, SECONDS);
  }

  private static HttpResponse<String> unsignedInvoke(SageMakerEmulator emulator) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(
                URI.create(
                    emulator.uri() + "/endpoints/" + EmulatorServer.ENDPOINT + "/invocations"))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"text\":\"great product\"}"))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void withoutAuthChecksAnUnsignedRequestGetsTheEndpointsAnswer() throws Exception {
    HttpResponse<String> resp = unsignedInvoke(open);
    assertEquals(200, resp.statusCode(), resp.body());
    assertEquals(EmulatorServer.ANSWER, resp.body());
    assertTrue(open.requests().isEmpty(), "bench emulator must not record requests");
  }

  @Test
  void withAuthChecksAnUnsignedRequestIsRefused() throws Exception {
    HttpResponse<String> resp = unsignedInvoke(checked);
    assertEquals(403, resp.statusCode(), resp.body());
    assertEquals(
        "MissingAuthenticationTokenException",
        resp.headers().firstValue("X-Amzn-ErrorType").orElse(""));
    assertTrue(checked.requests().isEmpty(), "bench emulator must not record requests");
  }
}
