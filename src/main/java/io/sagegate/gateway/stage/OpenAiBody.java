package io.sagegate.gateway.stage;

import io.sagegate.authz.Action;
import io.sagegate.config.EndpointConfig;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;
import io.sagegate.openai.ChatRequest;
import io.sagegate.openai.OpenAiCall;

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
    BodyReader.read(
        ex,
        BodyReader.limitFor(endpoint, maxBytes),
        body -> {
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
          ex.audit().action(action);
          ex.body(chat.body());
          ex.next();
        });
  }
}
