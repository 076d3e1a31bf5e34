package io.sagegate.gateway.stage;

import io.sagegate.backend.InvocationHeaders;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.error.Errors;
import io.sagegate.openai.OpenAiCall;
import io.vertx.core.MultiMap;

/**
 * The request headers of a call on the OpenAI-compatible routes. The inference component comes from
 * the path, as on SageMaker's own OpenAI path, which refuses the header there; so does the gateway,
 * and likewise the target variant and target model headers, on which rules match and which this
 * path has no way to pass on. Nothing else of the caller's headers is forwarded.
 */
public final class OpenAiHeaders {

  private static final String[] REFUSED = {
    SageMakerHeaders.INFERENCE_COMPONENT,
    SageMakerHeaders.TARGET_VARIANT,
    SageMakerHeaders.TARGET_MODEL
  };

  private OpenAiHeaders() {}

  /**
   * @throws io.sagegate.error.GatewayException ValidationError naming a refused header
   */
  public static InvocationHeaders from(MultiMap h, OpenAiCall call) {
    for (String name : REFUSED) {
      if (h.contains(name)) {
        throw Errors.validation(
            "Header "
                + name
                + " is not taken on the OpenAI-compatible path"
                + (name.equals(SageMakerHeaders.INFERENCE_COMPONENT)
                    ? "; name the component in the path: /endpoints/{EndpointName}/inference-components/{ComponentName}/openai/v1/..."
                    : ""));
      }
    }
    return new InvocationHeaders(
        "application/json",
        null,
        null,
        null,
        null,
        null,
        null,
        null,
        call.component(),
        null,
        null,
        null,
        null,
        null,
        null);
  }
}
