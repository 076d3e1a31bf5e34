package io.sagegate.authz;

import io.sagegate.auth.Caller;
import io.sagegate.config.EndpointConfig;
import org.jspecify.annotations.Nullable;

/**
 * Everything a decision may look at: the caller, the endpoint (with its tags), the action, the
 * source address, the SageMaker target headers and an async call's input location. Null targets and
 * a null input location mean the request named none.
 */
public record AccessRequest(
    Caller caller,
    EndpointConfig endpoint,
    Action action,
    @Nullable String sourceIp,
    @Nullable String targetVariant,
    @Nullable String targetModel,
    @Nullable String inferenceComponent,
    @Nullable String inputLocation) {

  /** A request that names no input location (a synchronous call). */
  public AccessRequest(
      Caller caller,
      EndpointConfig endpoint,
      Action action,
      @Nullable String sourceIp,
      @Nullable String targetVariant,
      @Nullable String targetModel,
      @Nullable String inferenceComponent) {
    this(caller, endpoint, action, sourceIp, targetVariant, targetModel, inferenceComponent, null);
  }
}
