/** Authorization: deciding an access request against the configured rules, as a value. */
@org.jspecify.annotations.NullMarked
package io.sagegate.authz;
