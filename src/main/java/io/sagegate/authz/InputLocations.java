package io.sagegate.authz;

import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.match.S3Location;
import org.jspecify.annotations.Nullable;

/**
 * The endpoint's own limit on async input: a {@code sagemaker} endpoint's async call must name an
 * input location under one of its {@code backend.asyncInputPrefixes} (none listed: no async input
 * is allowed). Checked with the rules, before any credentials are obtained, by the gateway and by
 * {@code explain} alike; a rule's own {@code conditions.inputLocations} is part of its match
 * ({@link PolicyEngine}).
 */
public final class InputLocations {

  /** The audited reason of a call refused by this check. */
  public static final String REFUSED_REASON = "async:input_location_not_allowed";

  private InputLocations() {}

  /** Whether the endpoint takes {@code location} for {@code action}; true for other actions. */
  public static boolean endpointAllows(
      EndpointConfig endpoint, Action action, @Nullable String location) {
    if (action != Action.INVOKE_ASYNC
        || endpoint.backend() == null
        || !BackendConfig.SAGEMAKER.equals(endpoint.backend().type())) {
      return true;
    }
    return S3Location.isUnderAny(location, endpoint.backend().asyncInputPrefixes());
  }

  /**
   * The decision for {@code request}: the rules' ({@code rules}), unless they allow a call whose
   * input location the endpoint refuses, which is then denied as {@link
   * Decision#INPUT_LOCATION_NOT_ALLOWED}.
   */
  public static Decision decide(Decision rules, AccessRequest request) {
    if (rules.allowed()
        && !endpointAllows(request.endpoint(), request.action(), request.inputLocation())) {
      return Decision.inputLocationNotAllowed();
    }
    return rules;
  }
}
