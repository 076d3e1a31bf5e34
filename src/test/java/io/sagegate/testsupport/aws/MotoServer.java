package io.sagegate.testsupport.aws;

import io.sagegate.testsupport.PythonTools;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;

/**
 * A moto server ({@code python3 -m moto.server}) as a child process on a free port, for tests of
 * the AWS path against real HTTP. Readiness: the server prints {@code Running on http://host:port}
 * once it listens; the port is read from that line (the server binds port 0 itself, so there is no
 * port race). {@link #close()} kills the process.
 *
 * <p>Besides the raw URL it offers the calls the tests need: moto's control API (reset-auth,
 * SageMaker Runtime results) and signed AWS Query calls (IAM, STS). Moto accepts any signature;
 * with IAM enforcement on it checks the caller's identity policies, but (5.2.1) not role trust
 * policies or ExternalId.
 */
public final class MotoServer implements AutoCloseable {

  public static final String ACCOUNT = "123456789012";
  public static final String REGION = "us-east-1";
  private static final Pattern RUNNING = Pattern.compile("Running on (http://[\\d.]+:\\d+)");
  private static final long START_TIMEOUT_SECONDS = 60;

  private final Process process;
  private final String url;
  private final HttpClient http = HttpClient.newHttpClient();

  private MotoServer(Process process, String url) {
    this.process = process;
    this.url = url;
  }

  /** Starts moto and returns once it accepts requests. */
  public static MotoServer start() throws Exception {
    PythonTools.require();
    ProcessBuilder pb =
        new ProcessBuilder("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0")
            .redirectErrorStream(true);
    pb.environment().put("PYTHONUNBUFFERED", "1");
    Process process = pb.start();
    CompletableFuture<String> ready = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  Matcher m = RUNNING.matcher(line);
                  if (m.find()) {
                    ready.complete(m.group(1));
                  }
                  // keep draining so the child never blocks on a full pipe
                }
                ready.completeExceptionally(
                    new IOException("moto exited with " + process.waitFor()));
              } catch (IOException | InterruptedException e) {
                ready.completeExceptionally(e);
              }
            },
            "moto-output");
    reader.setDaemon(true);
    reader.start();
    try {
      // Bounded wait for the readiness line (not a fixed sleep).
      return new MotoServer(process, ready.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS));
    } catch (Exception e) {
      process.destroyForcibly();
      throw e;
    }
  }

  public String url() {
    return url;
  }

  /**
   * Turns IAM enforcement on after {@code freeRequests} more unauthenticated requests (0: at once).
   */
  public void resetAuth(int freeRequests) throws Exception {
    post("/moto-api/reset-auth", "text/plain", Integer.toString(freeRequests));
  }

  /** Seeds results of InvokeEndpoint (moto returns them in order). */
  public void seedSageMakerResults(String json) throws Exception {
    post("/moto-api/static/sagemaker/endpoint-results", "application/json", json);
  }

  /** Seeds results of InvokeEndpointAsync. */
  public void seedSageMakerAsyncResults(String json) throws Exception {
    post("/moto-api/static/sagemaker/async-endpoint-results", "application/json", json);
  }

  private String post(String path, String contentType, String body) throws Exception {
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(URI.create(url + path))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() / 100 != 2) {
      throw new IOException("moto " + path + " answered " + r.statusCode() + ": " + r.body());
    }
    return r.body();
  }

  /** Result of an AWS Query call: status and XML body. */
  public record QueryResult(int status, String body) {
    public String field(String name) {
      Matcher m = Pattern.compile("<" + name + ">([^<]*)</" + name + ">").matcher(body);
      return m.find() ? m.group(1) : null;
    }
  }

  /** A SigV4-signed AWS Query call (IAM: service iam, version 2010-05-08; STS: sts, 2011-06-15). */
  public QueryResult query(
      String service, String version, AwsCredentials credentials, Map<String, String> params)
      throws Exception {
    Map<String, String> all = new LinkedHashMap<>(params);
    all.put("Version", version);
    String form =
        all.entrySet().stream()
            .map(e -> enc(e.getKey()) + "=" + enc(e.getValue()))
            .collect(Collectors.joining("&"));
    byte[] body = form.getBytes(StandardCharsets.UTF_8);
    SdkHttpRequest request =
        SdkHttpRequest.builder()
            .method(SdkHttpMethod.POST)
            .uri(URI.create(url + "/"))
            .putHeader("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
            .build();
    SdkHttpRequest signed =
        AwsV4HttpSigner.create()
            .sign(
                r ->
                    r.identity(credentials)
                        .request(request)
                        .payload(ContentStreamProvider.fromByteArray(body))
                        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, service)
                        .putProperty(AwsV4HttpSigner.REGION_NAME, REGION))
            .request();
    HttpRequest.Builder b =
        HttpRequest.newBuilder(URI.create(url + "/"))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body));
    signed
        .headers()
        .forEach(
            (k, vs) -> {
              if (!k.equalsIgnoreCase("Host")) {
                vs.forEach(v -> b.header(k, v));
              }
            });
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    return new QueryResult(r.statusCode(), r.body());
  }

  /** An IAM call that must succeed. */
  public QueryResult iam(AwsCredentials credentials, Map<String, String> params) throws Exception {
    QueryResult r = query("iam", "2010-05-08", credentials, params);
    if (r.status() != 200) {
      throw new IOException(
          "IAM " + params.get("Action") + " answered " + r.status() + ": " + r.body());
    }
    return r;
  }

  /** Creates an IAM user with an access key; returns its credentials. */
  public AwsCredentials createUser(AwsCredentials admin, String name) throws Exception {
    iam(admin, Map.of("Action", "CreateUser", "UserName", name));
    QueryResult key = iam(admin, Map.of("Action", "CreateAccessKey", "UserName", name));
    return AwsBasicCredentials.create(key.field("AccessKeyId"), key.field("SecretAccessKey"));
  }

  public static AwsCredentials anyCredentials() {
    return AwsBasicCredentials.create("AKIAIOSFODNN7EXAMPLE", "not-a-secret-moto-accepts-any");
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
