/** The AWS path: STS-scoped credentials and the SageMaker backend's signed calls to SageMaker. */
@org.jspecify.annotations.NullMarked
package io.sagegate.aws;
