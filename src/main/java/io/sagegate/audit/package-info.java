/** The audit record of each request and the sinks that write it. */
@NullMarked
package io.sagegate.audit;

import org.jspecify.annotations.NullMarked;
