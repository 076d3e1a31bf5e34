package io.sagegate.provision.guard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.providers.DefaultAwsRegionProviderChain;

/**
 * The five SageMaker operations the guard calls (DescribeEndpointConfig, DescribeModel,
 * DeleteEndpoint, DeleteEndpointConfig, StopTransformJob), over SageMaker's AWS JSON 1.1 protocol
 * ({@code X-Amz-Target: SageMaker.<Operation>}), signed with the SDK's SigV4 signer and sent with
 * its URLConnection client; credentials and region from the SDK's default chains. It exists so the
 * guard jar need not carry the SDK's 14 MB SageMaker module, whose generated client references
 * every one of SageMaker's operations (so shading cannot minimise it). Shapes as in the SageMaker
 * service model (botocore {@code sagemaker/2017-07-24/service-2.json}).
 */
public final class GuardSageMaker implements AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Attempts per call: throttling, 5xx and I/O failures are retried, as the SDK's standard mode
   * does.
   */
  private static final int ATTEMPTS = 3;

  private final SdkHttpClient http;
  private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();
  private final AwsCredentialsProvider credentials;
  private final URI endpoint;
  private final String region;

  private GuardSageMaker(
      @Nullable URI endpoint, String region, AwsCredentialsProvider credentials) {
    this.region = region;
    this.endpoint =
        endpoint != null
            ? endpoint
            : URI.create("https://api.sagemaker." + region + ".amazonaws.com");
    this.credentials = credentials;
    this.http =
        UrlConnectionHttpClient.builder()
            .connectionTimeout(Duration.ofSeconds(5))
            .socketTimeout(Duration.ofSeconds(30))
            .build();
  }

  /**
   * A client for {@code region} (null: the SDK's default region chain, {@code AWS_REGION} in
   * Lambda) at {@code endpoint} (null: SageMaker's regional endpoint) with {@code credentials}
   * (null: the SDK's default credentials chain).
   */
  public static GuardSageMaker create(
      @Nullable URI endpoint,
      @Nullable String region,
      @Nullable AwsCredentialsProvider credentials) {
    return new GuardSageMaker(
        endpoint,
        region != null ? region : DefaultAwsRegionProviderChain.builder().build().getRegion().id(),
        credentials != null ? credentials : DefaultCredentialsProvider.builder().build());
  }

  /** A SageMaker call that failed: SageMaker's error code, or the client-side failure's name. */
  public static final class CallFailed extends RuntimeException {
    private final String errorCode;

    CallFailed(String operation, String errorCode, @Nullable Throwable cause) {
      super(operation + " failed: " + errorCode, cause);
      this.errorCode = errorCode;
    }

    /**
     * SageMaker's error code (for example {@code ValidationException}), else the failure's class
     * name.
     */
    public String errorCode() {
      return errorCode;
    }
  }

  /** DescribeEndpointConfig: the model names of the configuration's production variants. */
  public List<String> endpointConfigModels(String endpointConfigName) {
    JsonNode r =
        call(
            "DescribeEndpointConfig",
            JSON.createObjectNode().put("EndpointConfigName", endpointConfigName));
    List<String> models = new ArrayList<>();
    r.path("ProductionVariants")
        .forEach(
            v -> {
              if (v.path("ModelName").isTextual()) {
                models.add(v.path("ModelName").asText());
              }
            });
    return models;
  }

  /** DescribeModel: the images the model runs (its primary container's and its containers'). */
  public List<String> modelImages(String modelName) {
    JsonNode r = call("DescribeModel", JSON.createObjectNode().put("ModelName", modelName));
    List<String> images = new ArrayList<>();
    if (r.path("PrimaryContainer").path("Image").isTextual()) {
      images.add(r.path("PrimaryContainer").path("Image").asText());
    }
    r.path("Containers")
        .forEach(
            c -> {
              if (c.path("Image").isTextual()) {
                images.add(c.path("Image").asText());
              }
            });
    return images;
  }

  public void deleteEndpoint(String endpointName) {
    call("DeleteEndpoint", JSON.createObjectNode().put("EndpointName", endpointName));
  }

  public void deleteEndpointConfig(String endpointConfigName) {
    call(
        "DeleteEndpointConfig",
        JSON.createObjectNode().put("EndpointConfigName", endpointConfigName));
  }

  public void stopTransformJob(String transformJobName) {
    call("StopTransformJob", JSON.createObjectNode().put("TransformJobName", transformJobName));
  }

  /** One signed AWS JSON 1.1 call; retried on throttling, 5xx and I/O failures. */
  JsonNode call(String operation, ObjectNode input) {
    byte[] body;
    try {
      body = JSON.writeValueAsBytes(input);
    } catch (IOException e) {
      throw new CallFailed(operation, e.getClass().getSimpleName(), e);
    }
    CallFailed last = null;
    for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (attempt > 1) {
        try {
          Thread.sleep(100L << attempt); // backoff between attempts, not synchronisation
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw last;
        }
      }
      try {
        return once(operation, body);
      } catch (Retryable e) {
        last = e.failure;
      }
    }
    throw last;
  }

  /** A failure worth another attempt. */
  private static final class Retryable extends Exception {
    final CallFailed failure;

    Retryable(CallFailed failure) {
      super(null, null, false, false);
      this.failure = failure;
    }
  }

  private JsonNode once(String operation, byte[] body) throws Retryable {
    String path =
        endpoint.getRawPath() == null || endpoint.getRawPath().isEmpty()
            ? "/"
            : endpoint.getRawPath();
    SdkHttpRequest request =
        SdkHttpRequest.builder()
            .method(SdkHttpMethod.POST)
            .protocol(endpoint.getScheme())
            .host(endpoint.getHost())
            .port(endpoint.getPort() < 0 ? null : endpoint.getPort())
            .encodedPath(path)
            .putHeader("Content-Type", "application/x-amz-json-1.1")
            .putHeader("X-Amz-Target", "SageMaker." + operation)
            .putHeader("Content-Length", Integer.toString(body.length))
            .build();
    int status;
    byte[] answer;
    try {
      SignedRequest signed =
          signer.sign(
              r ->
                  r.identity(credentials.resolveCredentials())
                      .request(request)
                      .payload(ContentStreamProvider.fromByteArrayUnsafe(body))
                      .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "sagemaker")
                      .putProperty(AwsV4HttpSigner.REGION_NAME, region));
      HttpExecuteResponse response =
          http.prepareRequest(
                  HttpExecuteRequest.builder()
                      .request(signed.request())
                      .contentStreamProvider(signed.payload().orElse(null))
                      .build())
              .call();
      status = response.httpResponse().statusCode();
      try (InputStream in =
          response.responseBody().map(b -> (InputStream) b).orElse(InputStream.nullInputStream())) {
        answer = in.readAllBytes();
      }
    } catch (IOException e) {
      throw new Retryable(new CallFailed(operation, e.getClass().getSimpleName(), e));
    } catch (RuntimeException e) {
      // No credentials, a bad endpoint: not worth another attempt.
      throw new CallFailed(operation, e.getClass().getSimpleName(), e);
    }
    JsonNode json = parse(answer);
    if (status / 100 == 2) {
      return json;
    }
    String code = errorCode(json, status);
    CallFailed failure = new CallFailed(operation, code, null);
    String lower = code.toLowerCase(Locale.ROOT);
    if (status >= 500
        || status == 429
        || lower.contains("throttl")
        || lower.contains("toomanyrequests")) {
      throw new Retryable(failure);
    }
    throw failure;
  }

  private static JsonNode parse(byte[] answer) {
    if (answer.length == 0) {
      return JSON.createObjectNode();
    }
    try {
      JsonNode n = JSON.readTree(answer);
      return n != null ? n : JSON.createObjectNode();
    } catch (IOException e) {
      return JSON.createObjectNode();
    }
  }

  /** AWS JSON 1.1 errors: {@code __type} (or {@code code}) as {@code [namespace#]Code[:uri]}. */
  static String errorCode(JsonNode error, int status) {
    String type =
        error.path("__type").isTextual()
            ? error.path("__type").asText()
            : error.path("code").isTextual() ? error.path("code").asText() : null;
    if (type == null || type.isBlank()) {
      return "HTTP " + status;
    }
    int hash = type.lastIndexOf('#');
    if (hash >= 0) {
      type = type.substring(hash + 1);
    }
    int colon = type.indexOf(':');
    return colon >= 0 ? type.substring(0, colon) : type;
  }

  @Override
  public void close() {
    http.close();
  }
}
