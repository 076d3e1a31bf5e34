package io.sagegate.gateway.stage;

import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.ServerSettings;
import io.sagegate.error.Errors;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import org.jspecify.annotations.Nullable;

/**
 * Reads the request body, only once the call is allowed, and never beyond the size limit (6 MiB by
 * default, SageMaker's): a declared Content-Length over the limit is refused before a byte is read,
 * and a body that grows past it is cut off.
 *
 * <p>Hand-written rather than vertx-web's BodyHandler, which treats form and multipart content
 * types specially; an inference payload must reach the model byte for byte whatever its type.
 */
public final class BodyReader implements Stage {

  private final long maxBytes;

  public BodyReader(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  @Override
  public void handle(Exchange ex) {
    if (ex.body() != null || ex.openAi() != null) {
      // Read already (OpenAiBody, before the decision), or a route that takes none (the models
      // list).
      ex.next();
      return;
    }
    read(
        ex,
        limitFor(ex.endpoint(), maxBytes),
        body -> {
          ex.body(body);
          ex.next();
        });
  }

  /**
   * The body limit for a call to {@code endpoint}: SageMaker refuses more than 6 MiB whatever
   * server.maxBodyBytes allows other backends, so the limit is held here, before any STS or
   * SageMaker call is spent on the request.
   */
  static long limitFor(@Nullable EndpointConfig endpoint, long maxBytes) {
    return endpoint != null
            && endpoint.backend() != null
            && BackendConfig.SAGEMAKER.equals(endpoint.backend().type())
        ? Math.min(maxBytes, ServerSettings.SAGEMAKER_MAX_BODY_BYTES)
        : maxBytes;
  }

  /**
   * Reads the whole body, at most {@code maxBytes} (a declared Content-Length over it is refused
   * before a byte is read; a body that grows past it is cut off), then hands it to {@code onBody}
   * on the event loop; any failure fails the exchange instead. The one bounded read of both stages
   * that read bodies (this one and OpenAiBody). The caller's stage is asynchronous from here: this
   * says {@link Exchange#later()} for it.
   */
  static void read(Exchange ex, long maxBytes, java.util.function.Consumer<Buffer> onBody) {
    HttpServerRequest request = ex.request();
    String declared = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    long length = -1;
    if (declared != null) {
      try {
        length = Long.parseLong(declared.trim());
      } catch (NumberFormatException e) {
        ex.fail(Errors.validation("Content-Length '" + declared + "' is not a number"));
        return;
      }
      if (length > maxBytes) {
        ex.fail(Errors.payloadTooLarge(maxBytes));
        return;
      }
    }
    Buffer body = Buffer.buffer(length < 0 ? 1024 : (int) length);
    boolean[] done = {false};
    request.handler(
        chunk -> {
          if (done[0]) {
            return;
          }
          if (body.length() + chunk.length() > maxBytes) {
            done[0] = true;
            request.pause();
            ex.fail(Errors.payloadTooLarge(maxBytes));
            return;
          }
          body.appendBuffer(chunk);
        });
    request.exceptionHandler(
        err -> {
          if (!done[0]) {
            done[0] = true;
            // A malformed chunked body arrives as the GatewayException HttpGuard made of it.
            ex.fail(
                err instanceof io.sagegate.error.GatewayException error
                    ? error
                    : Errors.validation("The request body could not be read"));
          }
        });
    request.endHandler(
        v -> {
          if (!done[0]) {
            done[0] = true;
            onBody.accept(body);
          }
        });
    ex.later(); // the body's end handler carries on
    ex.releaseBody();
  }
}
