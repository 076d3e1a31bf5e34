package io.sagegate.aws;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;

/**
 * Signs SageMaker Runtime requests with the SDK's {@link AwsV4HttpSigner} (SigV4, signing name
 * {@value #SIGNING_NAME}).
 *
 * <p><b>Payload hash.</b> AwsV4HttpSigner (SDK 2.40) has no public way to take a caller-computed
 * SHA-256: its precomputed-checksum path ({@code Checksummer.forPrecomputed256Checksum}) is
 * internal and only used for the fixed markers {@code UNSIGNED-PAYLOAD} and {@code STREAMING-*},
 * and a pre-set {@code x-amz-content-sha256} header is not read back as the hash (only {@code
 * PAYLOAD_SIGNING_ENABLED=false} over HTTPS skips hashing, sending {@code UNSIGNED-PAYLOAD}, which
 * SageMaker Runtime does not document). So the signer hashes the body, exactly once, from a {@link
 * ContentStreamProvider} over the body bytes; for bodies over {@value #SIGN_OFF_LOOP_BYTES} bytes
 * signing runs in {@code executeBlocking} so the event loop never hashes megabytes.
 */
public final class RuntimeSigner {

  public static final String SIGNING_NAME = "sagemaker";
  public static final int SIGN_OFF_LOOP_BYTES = 256 * 1024;

  private static final AwsV4HttpSigner SIGNER = AwsV4HttpSigner.create();

  private RuntimeSigner() {}

  /**
   * Signs {@code unsigned} with {@code body}: on the calling thread for a small body, on a worker
   * for one over {@value #SIGN_OFF_LOOP_BYTES} bytes (the body's copy for the signer, up to 6 MiB,
   * is made there too). A signing failure fails the future.
   */
  static Future<SdkHttpRequest> sign(
      Vertx vertx,
      SdkHttpRequest unsigned,
      Buffer body,
      AwsCredentialsIdentity credentials,
      Region region) {
    if (body.length() > SIGN_OFF_LOOP_BYTES) {
      return vertx.executeBlocking(
          () -> sign(unsigned, body.getBytes(), credentials, region).request(), false);
    }
    try {
      return Future.succeededFuture(sign(unsigned, body.getBytes(), credentials, region).request());
    } catch (RuntimeException e) {
      return Future.failedFuture(e);
    }
  }

  /**
   * Signs one SageMaker Runtime request exactly as the backend does (the body hashed by the
   * signer). Public so the signing benchmark measures this code and not a copy of it. Hashes {@code
   * body} on the calling thread.
   */
  public static SignedRequest sign(
      SdkHttpRequest request, byte[] body, AwsCredentialsIdentity credentials, Region region) {
    return SIGNER.sign(
        r ->
            r.identity(credentials)
                .request(request)
                .payload(ContentStreamProvider.fromByteArrayUnsafe(body))
                .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, SIGNING_NAME)
                .putProperty(AwsV4HttpSigner.REGION_NAME, region.id()));
  }
}
