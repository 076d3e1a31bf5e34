/**
 * The built-in demo model: a container that answers the SageMaker container contract and OpenAI
 * chat.
 */
@NullMarked
package io.sagegate.demo;

import org.jspecify.annotations.NullMarked;
