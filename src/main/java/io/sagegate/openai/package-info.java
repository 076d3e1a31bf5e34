/** The OpenAI-compatible API: its routes, requests, usage accounting and error answers. */
@org.jspecify.annotations.NullMarked
package io.sagegate.openai;
