/** The gateway's HTTP servers, request pipeline, and the state and guards around them. */
@NullMarked
package io.sagegate.gateway;

import org.jspecify.annotations.NullMarked;
