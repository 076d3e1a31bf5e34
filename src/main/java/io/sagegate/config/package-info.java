/** The gateway's YAML configuration: its records, how it is loaded, validated and reloaded. */
@NullMarked
package io.sagegate.config;

import org.jspecify.annotations.NullMarked;
