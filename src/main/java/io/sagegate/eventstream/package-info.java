/**
 * The AWS event-stream wire format (application/vnd.amazon.eventstream): the framing both backends
 * speak for response streams, the SageMaker backend relaying SageMaker's frames and the container
 * backend framing a model's chunks. It sits beside the backends, not under {@code aws}, so {@code
 * backend.container} does not depend on the AWS package.
 */
@NullMarked
package io.sagegate.eventstream;

import org.jspecify.annotations.NullMarked;
