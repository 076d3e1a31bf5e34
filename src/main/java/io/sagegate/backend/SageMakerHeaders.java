package io.sagegate.backend;

/** SageMaker Runtime's HTTP header names, as on the wire. */
public final class SageMakerHeaders {

  public static final String CONTENT_TYPE = "Content-Type";
  public static final String ACCEPT = "Accept";

  /** InvokeEndpointWithResponseStream names Accept and Content-Type with this prefix. */
  public static final String STREAM_ACCEPT = "X-Amzn-SageMaker-Accept";

  public static final String STREAM_CONTENT_TYPE = "X-Amzn-SageMaker-Content-Type";

  public static final String CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes";
  public static final String TARGET_MODEL = "X-Amzn-SageMaker-Target-Model";
  public static final String TARGET_VARIANT = "X-Amzn-SageMaker-Target-Variant";
  public static final String TARGET_CONTAINER_HOSTNAME =
      "X-Amzn-SageMaker-Target-Container-Hostname";
  public static final String INFERENCE_ID = "X-Amzn-SageMaker-Inference-Id";
  public static final String ENABLE_EXPLANATIONS = "X-Amzn-SageMaker-Enable-Explanations";
  public static final String INFERENCE_COMPONENT = "X-Amzn-SageMaker-Inference-Component";
  public static final String SESSION_ID = "X-Amzn-SageMaker-Session-Id";

  public static final String INPUT_LOCATION = "X-Amzn-SageMaker-InputLocation";
  public static final String REQUEST_TTL_SECONDS = "X-Amzn-SageMaker-RequestTTLSeconds";
  public static final String INVOCATION_TIMEOUT_SECONDS =
      "X-Amzn-SageMaker-InvocationTimeoutSeconds";
  public static final String S3_OUTPUT_PATH_EXTENSION = "X-Amzn-SageMaker-S3OutputPathExtension";
  public static final String FILENAME = "X-Amzn-SageMaker-Filename";

  public static final String INVOKED_PRODUCTION_VARIANT = "X-Amzn-Invoked-Production-Variant";
  public static final String NEW_SESSION_ID = "X-Amzn-SageMaker-New-Session-Id";
  public static final String CLOSED_SESSION_ID = "X-Amzn-SageMaker-Closed-Session-Id";
  public static final String OUTPUT_LOCATION = "X-Amzn-SageMaker-OutputLocation";
  public static final String FAILURE_LOCATION = "X-Amzn-SageMaker-FailureLocation";

  public static final String REQUEST_ID = "x-amzn-RequestId";
  public static final String ERROR_TYPE = "x-amzn-ErrorType";

  private SageMakerHeaders() {}
}
