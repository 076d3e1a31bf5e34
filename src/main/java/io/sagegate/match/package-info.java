/**
 * General matchers shared by policy rules, trusted proxies, configuration checks and provisioning:
 * {@link io.sagegate.match.Glob} (name patterns), {@link io.sagegate.match.Cidr} (networks) and
 * {@link io.sagegate.match.S3Location} (S3 locations and their prefixes). They depend on nothing
 * else in sagegate.
 */
@NullMarked
package io.sagegate.match;

import org.jspecify.annotations.NullMarked;
