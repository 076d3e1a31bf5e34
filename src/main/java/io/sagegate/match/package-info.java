/**
 * General matchers shared by policy rules, trusted proxies, configuration checks and provisioning:
 * {@link io.sagegate.match.Glob} (name patterns) and {@link io.sagegate.match.Cidr} (networks).
 * They depend on nothing else in sagegate.
 */
package io.sagegate.match;
