/** The container backend: invocations served by a model container over HTTP. */
@NullMarked
package io.sagegate.backend.container;

import org.jspecify.annotations.NullMarked;
