/** Prometheus metrics and how errors are classed in them. */
@NullMarked
package io.sagegate.metrics;

import org.jspecify.annotations.NullMarked;
