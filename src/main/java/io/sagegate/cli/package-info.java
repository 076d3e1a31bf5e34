/** The {@code sagegate} command line: one picocli subcommand per task. */
@NullMarked
package io.sagegate.cli;

import org.jspecify.annotations.NullMarked;
