package io.sagegate.authz;

import io.sagegate.auth.Caller;
import io.sagegate.config.EndpointConfig;

/**
 * Everything a decision may look at: the caller, the endpoint (with its tags), the action, the
 * source address and the SageMaker target headers. Null targets mean the request named none.
 */
public record AccessRequest(
    Caller caller,
    EndpointConfig endpoint,
    Action action,
    String sourceIp,
    String targetVariant,
    String targetModel,
    String inferenceComponent) {}
