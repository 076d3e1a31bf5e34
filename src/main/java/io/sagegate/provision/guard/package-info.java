/** The detective guard Lambda, which removes SageMaker deployments the spec does not approve. */
@NullMarked
package io.sagegate.provision.guard;

import org.jspecify.annotations.NullMarked;
