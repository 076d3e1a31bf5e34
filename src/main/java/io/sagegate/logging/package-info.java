/** Log context: the request id on every line about a request. */
@NullMarked
package io.sagegate.logging;

import org.jspecify.annotations.NullMarked;
