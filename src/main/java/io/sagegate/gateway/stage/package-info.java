/**
 * The stages a request passes through, from tracking and authentication to invoking the backend.
 */
@NullMarked
package io.sagegate.gateway.stage;

import org.jspecify.annotations.NullMarked;
