/**
 * The backend contract and what both backends share: invocations, responses, deadlines and the
 * upstream exchange.
 */
@NullMarked
package io.sagegate.backend;

import org.jspecify.annotations.NullMarked;
