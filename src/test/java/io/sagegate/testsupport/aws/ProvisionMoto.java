package io.sagegate.testsupport.aws;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * A real moto_server (moto 5.2.1, python3) on a free port, for the provisioning tests: started as
 * a process, ready when it logs that it is running (read from its output, bounded), killed on
 * close. One per test class. Moto's default account is {@value #ACCOUNT}.
 */
public final class ProvisionMoto implements AutoCloseable {

  public static final String ACCOUNT = "123456789012";
  public static final String REGION = "us-east-1";
  public static final StaticCredentialsProvider CREDENTIALS =
      StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing"));

  private final Process process;
  private final URI endpoint;
  private final HttpClient http = HttpClient.newHttpClient();

  private ProvisionMoto(Process process, URI endpoint) {
    this.process = process;
    this.endpoint = endpoint;
  }

  public static ProvisionMoto start() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    Process p = new ProcessBuilder("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String.valueOf(port))
        .redirectErrorStream(true)
        .start();
    CompletableFuture<Void> ready = new CompletableFuture<>();
    String marker = "Running on http://127.0.0.1:" + port;
    Thread reader = new Thread(() -> {
      // Keeps draining moto's log after start-up, or moto blocks on a full pipe.
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (!ready.isDone() && line.contains(marker)) {
            ready.complete(null);
          }
        }
        ready.completeExceptionally(new IllegalStateException("moto_server exited before it was ready"));
      } catch (IOException e) {
        ready.completeExceptionally(e);
      }
    }, "moto-log-" + port);
    reader.setDaemon(true);
    reader.start();
    try {
      ready.get(60, TimeUnit.SECONDS);
    } catch (Exception e) {
      p.destroyForcibly();
      throw new IllegalStateException("moto_server did not start on port " + port, e);
    }
    return new ProvisionMoto(p, URI.create("http://127.0.0.1:" + port));
  }

  public URI endpoint() {
    return endpoint;
  }

  /** From now on every request must be signed by an IAM identity whose policies allow it. */
  public void enforceIam() throws Exception {
    send("POST", "/moto-api/reset-auth", "0", "text/plain");
  }

  /** Seeds the next InvokeEndpoint result(s). */
  public void seedEndpointResult(String body, String contentType) throws Exception {
    String json = "{\"results\":[{\"Body\":" + quote(body) + ",\"ContentType\":" + quote(contentType) + "}]}";
    send("POST", "/moto-api/static/sagemaker/endpoint-results", json, "application/json");
  }

  /** Unsigned S3 PUT (before IAM enforcement): a bucket, or an object when key is set. */
  public void s3Put(String bucket, String key, String body) throws Exception {
    send("PUT", "/" + bucket + (key == null ? "" : "/" + key), body == null ? "" : body, "application/octet-stream");
  }

  /**
   * An IAM Query API call (form parameters, e.g. {@code Action=GetRole&RoleName=x}) before IAM
   * enforcement: moto routes it by the credential scope and, with enforcement off, does not check
   * the signature. Returns the XML answer.
   */
  public String iam(String form) throws Exception {
    HttpRequest r = HttpRequest.newBuilder(endpoint.resolve("/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, "
            + "SignedHeaders=host, Signature=0")
        .POST(HttpRequest.BodyPublishers.ofString(form + "&Version=2010-05-08"))
        .build();
    HttpResponse<String> resp = http.send(r, HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() >= 300) {
      throw new IllegalStateException("IAM " + form + ": moto answered " + resp.statusCode() + ": " + resp.body());
    }
    return resp.body();
  }

  /** Turns IAM enforcement off again (for clean-up). */
  public void relaxIam() throws Exception {
    send("POST", "/moto-api/reset-auth", "1000000", "text/plain");
  }

  public String get(String path) throws Exception {
    return send("GET", path, null, null);
  }

  private String send(String method, String path, String body, String contentType) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(endpoint.resolve(path));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() >= 300) {
      throw new IllegalStateException(method + " " + path + ": moto answered " + r.statusCode() + ": " + r.body());
    }
    return r.body();
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }
}
