package io.sagegate.gateway.stage;

import io.sagegate.config.BackendConfig;
import io.sagegate.config.ServerSettings;
import io.sagegate.error.Errors;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

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
    // SageMaker refuses more than 6 MiB whatever server.maxBodyBytes allows other backends: the
    // limit is held here, before any STS or SageMaker call is spent on the request.
    long maxBytes =
        ex.endpoint() != null
                && ex.endpoint().backend() != null
                && BackendConfig.SAGEMAKER.equals(ex.endpoint().backend().type())
            ? Math.min(this.maxBytes, ServerSettings.SAGEMAKER_MAX_BODY_BYTES)
            : this.maxBytes;
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
            ex.body(body);
            ex.next();
          }
        });
    ex.later(); // the body's end handler carries on
    ex.releaseBody();
  }
}
