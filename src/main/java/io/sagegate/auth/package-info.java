/** Bearer-token authentication: verifying JWTs against the issuer's keys and naming the caller. */
@org.jspecify.annotations.NullMarked
package io.sagegate.auth;
