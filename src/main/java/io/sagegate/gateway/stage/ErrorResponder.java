package io.sagegate.gateway.stage;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagegate.audit.AuditRecord;
import io.sagegate.auth.AuthenticationException;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.Exchange;
import io.sagegate.metrics.GatewayMetrics;
import io.sagegate.openai.OpenAiErrors;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one place that writes error responses, in SageMaker Runtime's error shape: the status, {@code
 * x-amzn-ErrorType}, and a JSON body with {@code __type} and {@code message} (plus the error's own
 * fields, such as ModelError's OriginalStatusCode). Anything that is not a GatewayException is the
 * gateway's own fault: logged with its stack trace here, answered as a bare InternalFailure.
 */
public final class ErrorResponder implements Exchange.FailureHandler {

  private static final Logger LOG = LoggerFactory.getLogger(ErrorResponder.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** How long a refused body may go without a byte arriving before its connection is closed. */
  static final long LINGER_IDLE_MS = 2_000;

  /** How long after the answer a refused body's connection is closed at the latest. */
  static final long LINGER_MAX_MS = 30_000;

  private final GatewayMetrics metrics;

  public ErrorResponder(GatewayMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void handle(Exchange ex, Throwable failure) {
    GatewayException error = toGatewayException(failure);
    AuditRecord audit = ex.auditIfOpened();
    if (audit != null) {
      String reason = error.auditReason();
      if (error.getMessage() != null && reason == null && error.status() >= 500) {
        reason = error.getMessage();
      }
      audit.error(error.errorType(), reason);
    }
    if (error instanceof AuthenticationException auth) {
      metrics.authenticationFailed(auth.reason().label());
    }
    if (ex.response().closed()) {
      // The caller went away (its record already says so): there is nobody to answer, and no
      // failure of ours to report.
      LOG.debug(
          "Request {} ended after its caller left: {}",
          audit == null ? "-" : audit.requestId(),
          error.auditReason());
      return;
    }
    if (error.status() >= 500) {
      LOG.warn(
          "Request {} failed: {} {} ({})",
          audit == null ? "-" : audit.requestId(),
          error.status(),
          error.errorType(),
          error.auditReason() == null ? error.getMessage() : error.auditReason());
    }
    write(ex.request(), ex.response(), error, ex.openAi() != null);
  }

  static GatewayException toGatewayException(Throwable failure) {
    if (failure instanceof GatewayException e) {
      return e;
    }
    LOG.error("Unexpected failure in the gateway", failure);
    return Errors.internal().withAuditReason("internal:" + failure.getClass().getSimpleName());
  }

  /**
   * The error body in SageMaker's shape: {@code {"__type": ..., "message": ...}} and the error's
   * fields.
   */
  public static String json(GatewayException error) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("__type", error.errorType());
    body.put("message", error.getMessage());
    body.putAll(error.extraFields());
    try {
      return JSON.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      return "{\"__type\":\"" + Errors.INTERNAL_FAILURE + "\"}";
    }
  }

  /** Writes {@code error} unless the response has begun; then the connection is reset. */
  public static void write(
      HttpServerRequest request, HttpServerResponse response, GatewayException error) {
    write(request, response, error, false);
  }

  /**
   * As {@link #write(HttpServerRequest, HttpServerResponse, GatewayException)}; {@code openAi}
   * writes the body in the OpenAI envelope ({@link OpenAiErrors}), status and headers unchanged.
   */
  public static void write(
      HttpServerRequest request,
      HttpServerResponse response,
      GatewayException error,
      boolean openAi) {
    if (response.ended() || response.closed()) {
      return;
    }
    if (response.headWritten()) {
      response.reset();
      return;
    }
    String json = openAi ? OpenAiErrors.body(error) : json(error);
    response.setStatusCode(error.status());
    response.headers().remove(HttpHeaders.TRANSFER_ENCODING);
    response.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
    response.putHeader(SageMakerHeaders.ERROR_TYPE, error.errorType());
    error.headers().forEach(response::putHeader);
    if (!request.isEnded()) {
      String length = request.getHeader(HttpHeaders.CONTENT_LENGTH);
      boolean noBody =
          (length == null || length.equals("0"))
              && request.getHeader(HttpHeaders.TRANSFER_ENCODING) == null;
      if (noBody) {
        request.resume();
      } else if (request.version() == HttpVersion.HTTP_2) {
        // HTTP/2: only this stream ends. Once the answer is out, the rest of the body is refused
        // with RST_STREAM NO_ERROR (RFC 9113, 8.1); the connection and its other streams go on.
        response
            .end(json)
            .onComplete(
                ar -> {
                  if (!request.isEnded()) {
                    response.reset(0);
                  }
                });
        return;
      } else {
        // The body was never read (refused before it was wanted): the connection cannot carry
        // another request, so it is closed once the answer is out (lingerThenClose).
        response.putHeader(HttpHeaders.CONNECTION, "close");
        response.end(json).onComplete(ar -> lingerThenClose(request));
        return;
      }
    }
    response.end(json);
  }

  /**
   * Closes the connection of a request whose body was refused unread. Vert.x closes a connection
   * only when the request asked for it, not when the answer says {@code Connection: close}, so
   * without this the connection stayed open until the idle timeout, with the body paused. As
   * nginx's lingering close: what still arrives of the body is taken in and dropped, so a client
   * that writes its whole body before it reads is not reset mid-send and does get the answer; the
   * connection closes when the body has arrived, after {@value #LINGER_IDLE_MS} ms without any of
   * it, or {@value #LINGER_MAX_MS} ms after the answer at the latest.
   */
  static void lingerThenClose(HttpServerRequest request) {
    HttpConnection connection = request.connection();
    Context context = Vertx.currentContext();
    if (connection == null) {
      return;
    }
    if (context == null || request.isEnded()) {
      connection.close();
      return;
    }
    Vertx vertx = context.owner();
    long start = System.nanoTime();
    long[] lastData = {start};
    long[] timer = {-1};
    Runnable close =
        () -> {
          vertx.cancelTimer(timer[0]);
          connection.close();
        };
    request.handler(chunk -> lastData[0] = System.nanoTime());
    request.exceptionHandler(err -> close.run());
    request.endHandler(v -> close.run());
    timer[0] =
        vertx.setPeriodic(
            LINGER_IDLE_MS / 4,
            id -> {
              long now = System.nanoTime();
              if (now - lastData[0] >= LINGER_IDLE_MS * 1_000_000
                  || now - start >= LINGER_MAX_MS * 1_000_000) {
                close.run();
              }
            });
    request.resume();
  }
}
