/** Scoped AWS credentials for one call, and why they could not be had. */
@NullMarked
package io.sagegate.credentials;

import org.jspecify.annotations.NullMarked;
