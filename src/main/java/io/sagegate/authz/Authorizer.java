package io.sagegate.authz;

/**
 * Decides an access request. A denial is a value ({@link Decision}), never an exception; only an
 * engine that cannot run throws.
 */
@FunctionalInterface
public interface Authorizer {

  Decision decide(AccessRequest request);
}
