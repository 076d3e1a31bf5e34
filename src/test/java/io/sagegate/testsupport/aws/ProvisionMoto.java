package io.sagegate.testsupport.aws;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.client.builder.AwsClientBuilder;
import software.amazon.awssdk.core.client.builder.SdkSyncClientBuilder;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;

/**
 * A real moto_server (moto 5.2.1, python3) on a free port, for the provisioning tests, with the
 * helpers they need (S3 objects, IAM calls before enforcement); the process itself is run by {@link
 * MotoServer}. One per test class. Moto's default account is {@value #ACCOUNT}.
 */
public final class ProvisionMoto implements AutoCloseable {

  public static final String ACCOUNT = "123456789012";
  public static final String REGION = "us-east-1";
  public static final StaticCredentialsProvider CREDENTIALS =
      StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing"));

  private final MotoServer moto;
  private final URI endpoint;
  private final HttpClient http = HttpClient.newHttpClient();

  private ProvisionMoto(MotoServer moto) {
    this.moto = moto;
    this.endpoint = URI.create(moto.url());
  }

  /** Starts moto through {@link MotoServer}, the one place that runs the process. */
  public static ProvisionMoto start() throws Exception {
    return new ProvisionMoto(MotoServer.start());
  }

  public URI endpoint() {
    return endpoint;
  }

  /**
   * An SDK client of this moto (its endpoint, {@value #REGION}, the URL-connection HTTP client) as
   * moto's default identity, e.g. {@code moto.client(CloudFormationClient.builder())}; the builder
   * may carry settings of its own.
   */
  public <B extends AwsClientBuilder<B, C> & SdkSyncClientBuilder<B, C>, C> C client(B builder) {
    return client(builder, CREDENTIALS);
  }

  /** The same as {@link #client(AwsClientBuilder)}, signing with {@code credentials}. */
  public <B extends AwsClientBuilder<B, C> & SdkSyncClientBuilder<B, C>, C> C client(
      B builder, AwsCredentialsProvider credentials) {
    return builder
        .endpointOverride(endpoint)
        .region(Region.of(REGION))
        .credentialsProvider(credentials)
        .httpClientBuilder(UrlConnectionHttpClient.builder())
        .build();
  }

  /** From now on every request must be signed by an IAM identity whose policies allow it. */
  public void enforceIam() throws Exception {
    moto.resetAuth(0);
  }

  /** Seeds the next InvokeEndpoint result(s). */
  public void seedEndpointResult(String body, String contentType) throws Exception {
    String json =
        "{\"results\":[{\"Body\":" + quote(body) + ",\"ContentType\":" + quote(contentType) + "}]}";
    send("POST", "/moto-api/static/sagemaker/endpoint-results", json, "application/json");
  }

  /** Unsigned S3 PUT (before IAM enforcement): a bucket, or an object when key is set. */
  public void s3Put(String bucket, String key, String body) throws Exception {
    send(
        "PUT",
        "/" + bucket + (key == null ? "" : "/" + key),
        body == null ? "" : body,
        "application/octet-stream");
  }

  /**
   * An IAM Query API call (form parameters, e.g. {@code Action=GetRole&RoleName=x}) before IAM
   * enforcement: moto routes it by the credential scope and, with enforcement off, does not check
   * the signature. Returns the XML answer.
   */
  public String iam(String form) throws Exception {
    HttpRequest r =
        HttpRequest.newBuilder(endpoint.resolve("/"))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, "
                    + "SignedHeaders=host, Signature=0")
            .POST(HttpRequest.BodyPublishers.ofString(form + "&Version=2010-05-08"))
            .build();
    HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() >= 300) {
      throw new IllegalStateException(
          "IAM " + form + ": moto answered " + resp.statusCode() + ": " + resp.body());
    }
    return resp.body();
  }

  /** Turns IAM enforcement off again (for clean-up). */
  public void relaxIam() throws Exception {
    moto.resetAuth(1_000_000);
  }

  public String get(String path) throws Exception {
    return send("GET", path, null, null);
  }

  private String send(String method, String path, String body, String contentType)
      throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint.resolve(path));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    b.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 300) {
      throw new IllegalStateException(
          method + " " + path + ": moto answered " + r.statusCode() + ": " + r.body());
    }
    return r.body();
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  @Override
  public void close() {
    moto.close();
  }
}
