package io.sagegate.bench;

import io.sagegate.authz.Action;
import io.sagegate.aws.RuntimeSigner;
import io.sagegate.aws.SageMakerRequests;
import io.sagegate.backend.InvocationHeaders;
import java.net.URI;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.signer.Aws4Signer;
import software.amazon.awssdk.auth.signer.params.Aws4SignerParams;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.regions.Region;

/**
 * What SigV4 signing costs the {@code sagemaker} backend per request, with cached session
 * credentials: building the InvokeEndpoint request and {@link RuntimeSigner#sign} (the backend's
 * own method), for bodies of 0 B, 1 KiB and 1 MiB, next to the SHA-256 of the body alone (the
 * payload hash, which grows with the body) and, for reference, the signer with payload signing off
 * ({@code UNSIGNED-PAYLOAD}: no body hash at all, which the backend does not use). Not a test. Run
 * (see bench/AWS.md):
 *
 * <pre>
 * mvn -o -q test-compile
 * mvn -o -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp target/test-classes:target/classes:$(cat target/cp.txt) org.openjdk.jmh.Main SigningBenchmark \
 *     -f 1 -wi 3 -i 5 -w 1s -r 1s
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class SigningBenchmark {

  private static final URI RUNTIME =
      URI.create("https://runtime.sagemaker.us-east-1.amazonaws.com");
  private static final Region REGION = Region.US_EAST_1;
  private static final InvocationHeaders HEADERS =
      new InvocationHeaders(
          "application/json",
          "application/json",
          "trace=abc123",
          null,
          null,
          null,
          "7f1c2e0a-5b1d-4c8e-9f7a-2d3b4c5d6e7f",
          null,
          null,
          null,
          null,
          null,
          null);

  @Param({"0", "1024", "1048576"})
  public int bodyBytes;

  private byte[] body;

  /** Cached session credentials, as the STS provider hands them out (STS-shaped values). */
  private AwsSessionCredentials credentials;

  private SdkHttpRequest unsigned;
  private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();

  @Setup
  public void setUp() {
    body = new byte[bodyBytes];
    ThreadLocalRandom.current().nextBytes(body);
    credentials =
        AwsSessionCredentials.create(
            "ASIAQEXAMPLEBENCH001",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD" + "x".repeat(600));
    unsigned = request();
  }

  private static SdkHttpRequest request() {
    URI uri = URI.create(RUNTIME + "/endpoints/x/invocations");
    return SageMakerRequests.requestHeaders(
            SdkHttpRequest.builder().method(SdkHttpMethod.POST).uri(uri), HEADERS, Action.INVOKE)
        .build();
  }

  /** The backend's per-request work: build the request, then sign it (the body hashed inside). */
  @Benchmark
  public SignedRequest buildAndSign() {
    return RuntimeSigner.sign(request(), body, credentials, REGION);
  }

  /** Signing alone, request prebuilt. */
  @Benchmark
  public SignedRequest sign() {
    return RuntimeSigner.sign(unsigned, body, credentials, REGION);
  }

  /** The payload hash alone: what signing costs on top for a body of this size. */
  @Benchmark
  public byte[] sha256() throws NoSuchAlgorithmException {
    return MessageDigest.getInstance("SHA-256").digest(body);
  }

  /**
   * Reference, not what the backend does: the same signer with payload signing off ({@code
   * x-amz-content-sha256: UNSIGNED-PAYLOAD}), i.e. signing with no payload hash at all.
   */
  @Benchmark
  public SignedRequest signUnsignedPayload() {
    return signer.sign(
        r ->
            r.identity(credentials)
                .request(unsigned)
                .payload(ContentStreamProvider.fromByteArrayUnsafe(body))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, RuntimeSigner.SIGNING_NAME)
                .putProperty(AwsV4HttpSigner.REGION_NAME, REGION.id())
                .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false));
  }

  private final Aws4Signer legacySigner = Aws4Signer.create();

  /**
   * Reference, not what the backend does: the SDK's older, deprecated SigV4 signer ({@code
   * Aws4Signer}, which caches the derived signing key), to check whether it is cheaper.
   */
  @Benchmark
  public SdkHttpFullRequest signLegacy() {
    Aws4SignerParams params =
        Aws4SignerParams.builder()
            .awsCredentials(credentials)
            .signingName(RuntimeSigner.SIGNING_NAME)
            .signingRegion(REGION)
            .build();
    SdkHttpFullRequest full =
        SdkHttpFullRequest.builder()
            .method(unsigned.method())
            .uri(unsigned.getUri())
            .headers(unsigned.headers())
            .contentStreamProvider(ContentStreamProvider.fromByteArrayUnsafe(body))
            .build();
    return legacySigner.sign(full, params);
  }
}
