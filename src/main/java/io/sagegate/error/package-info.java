/** The gateway's error types and how each is answered. */
@NullMarked
package io.sagegate.error;

import org.jspecify.annotations.NullMarked;
