/** Concurrency limits, quotas and the stores that count them. */
@NullMarked
package io.sagegate.limits;

import org.jspecify.annotations.NullMarked;
