package io.sagegate.gateway.stage;

import io.sagegate.backend.InvocationHeaders;
import io.sagegate.error.GatewayException;
import io.sagegate.gateway.Exchange;
import io.sagegate.gateway.Stage;

/**
 * Reads the SageMaker request headers and checks them against SageMaker's limits, before the
 * decision, because rules may match on the target variant, model or inference component.
 */
public final class HeaderValidation implements Stage {

  @Override
  public void handle(Exchange ex) {
    InvocationHeaders headers;
    try {
      headers =
          ex.openAi() != null
              ? OpenAiHeaders.from(ex.request().headers(), ex.openAi())
              : InvocationHeaders.from(ex.request().headers(), ex.action());
    } catch (GatewayException e) {
      ex.fail(e);
      return;
    }
    ex.headers(headers);
    ex.audit().target(headers);
    ex.next();
  }
}
