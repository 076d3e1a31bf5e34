package io.sagegate.gateway.stage;

import io.sagegate.authz.Action;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.ServerSettings;
import io.sagegate.error.Errors;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.sagegate.openai.ChatRequest;
import io.sagegate.openai.OpenAiCall;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;

/**
 * On the OpenAI-compatible chat route only: reads the body (bounded as BodyReader bounds it) and
 * checks it before the decision, because the action depends on it: {@code "stream": true} is {@code
 * invoke-stream}, anything else {@code invoke}. The caller is authenticated by then; the body is
 * read for a call that may still be denied, which is what the action needs. When the endpoint
 * meters streams ({@code backend.openai.includeUsage}) and the client did not ask for usage, the
 * body forwarded asks for it. Every other request passes straight on.
 */
public final class OpenAiBody implements Stage {

  private final long maxBytes;

  public OpenAiBody(long maxBytes) {
    this.maxBytes = maxBytes;
  }

  @Override
  public void handle(Exchange ex) {
    OpenAiCall call = ex.openAi();
    if (call == null || call.route() != OpenAiCall.Route.CHAT_COMPLETIONS) {
      ex.next();
      return;
    }
    EndpointConfig endpoint = ex.state().endpoint(ex.endpointName());
    long limit =
        endpoint != null
                && endpoint.backend() != null
                && BackendConfig.SAGEMAKER.equals(endpoint.backend().type())
            ? Math.min(maxBytes, ServerSettings.SAGEMAKER_MAX_BODY_BYTES)
            : maxBytes;
    HttpServerRequest request = ex.request();
    String declared = request.getHeader(HttpHeaders.CONTENT_LENGTH);
    if (declared != null) {
      long length;
      try {
        length = Long.parseLong(declared.trim());
      } catch (NumberFormatException e) {
        ex.fail(Errors.validation("Content-Length '" + declared + "' is not a number"));
        return;
      }
      if (length > limit) {
        ex.fail(Errors.payloadTooLarge(limit));
        return;
      }
    }
    Buffer body = Buffer.buffer();
    boolean[] done = {false};
    request.handler(
        chunk -> {
          if (done[0]) {
            return;
          }
          if (body.length() + chunk.length() > limit) {
            done[0] = true;
            request.pause();
            ex.fail(Errors.payloadTooLarge(limit));
            return;
          }
          body.appendBuffer(chunk);
        });
    request.exceptionHandler(
        err -> {
          if (!done[0]) {
            done[0] = true;
            ex.fail(Errors.validation("The request body could not be read"));
          }
        });
    request.endHandler(
        v -> {
          if (done[0]) {
            return;
          }
          done[0] = true;
          ChatRequest chat;
          try {
            chat = ChatRequest.parse(body);
          } catch (RuntimeException e) {
            ex.fail(e);
            return;
          }
          boolean addUsage =
              chat.stream()
                  && !chat.includeUsage()
                  && endpoint != null
                  && endpoint.backend() != null
                  && endpoint.backend().openai().includeUsage();
          if (addUsage) {
            chat = chat.withUsage();
          }
          call.body(chat.stream(), addUsage, chat.model());
          call.maxTokens(chat.maxTokens());
          Action action = chat.stream() ? Action.INVOKE_STREAM : Action.INVOKE;
          ex.operation(action, ex.endpointName());
          ex.audit().action = action.ruleName();
          ex.body(chat.body());
          ex.next();
        });
    ex.later(); // the body's end handler carries on
    ex.releaseBody();
  }
}
