package io.sagegate.aws;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.sagegate.credentials.ScopedCredentials;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import org.jspecify.annotations.Nullable;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4FamilyHttpSigner;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;

/**
 * The bearer tokens SageMaker's OpenAI-compatible path takes, minted in memory from a caller's
 * scoped session: a SigV4 query-presigned {@code POST
 * https://sagemaker.amazonaws.com/?Action=CallWithBearerToken} (service {@code sagemaker}, the
 * region in the credential scope only, the session token included), then {@code &Version=1}
 * appended, base64-encoded and prefixed {@value #PREFIX}, signed by the SDK's {@link
 * AwsV4HttpSigner} as AWS's own token generators do (as they do, the {@code https://} is left out
 * of the encoded URL). A token expires no later than its session ({@code X-Amz-Expires} at most 12
 * h, and at most what is left of the session), and is cached with the session: keyed by the
 * session's credentials object, so a refreshed session gets a token of its own and a dropped one
 * takes its token with it. Tokens are never logged.
 */
public final class BearerTokens {

  public static final String PREFIX = "sagemaker-api-key-";
  public static final String HOST = "sagemaker.amazonaws.com";

  /** X-Amz-Expires' range: 1 s to 12 h. */
  public static final Duration MAX_EXPIRY = Duration.ofHours(12);

  /** A cached token with less than this left is minted afresh. */
  public static final Duration RENEW_BEFORE = Duration.ofSeconds(30);

  private static final AwsV4HttpSigner SIGNER = AwsV4HttpSigner.create();
  private static final SdkHttpRequest REQUEST =
      SdkHttpRequest.builder()
          .method(SdkHttpMethod.POST)
          .protocol("https")
          .host(HOST)
          .encodedPath("/")
          .putRawQueryParameter("Action", "CallWithBearerToken")
          .build();

  private record Token(String value, String region, Instant expires) {}

  private final Clock clock;
  private final Cache<Object, Token> cache =
      Caffeine.newBuilder().weakKeys().maximumSize(100_000).build();

  public BearerTokens(Clock clock) {
    this.clock = clock;
  }

  /** The session's token for {@code region}: cached, or minted now. */
  public String token(ScopedCredentials session, Region region) {
    Instant now = clock.instant();
    AwsCredentials credentials = session.awsCredentials();
    Token t = cache.getIfPresent(credentials);
    if (t != null
        && t.region().equals(region.id())
        && now.plus(RENEW_BEFORE).isBefore(t.expires())) {
      return t.value();
    }
    Duration expiry = expiry(now, session.expiration());
    // Signed at the very instant the expiry was computed from, so X-Amz-Date + X-Amz-Expires stays
    // within the session.
    String value = mint(credentials, region, expiry, Clock.fixed(now, java.time.ZoneOffset.UTC));
    cache.put(
        credentials,
        new Token(
            value,
            region.id(),
            now.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).plus(expiry)));
    return value;
  }

  /** Forgets the session's token (SageMaker refused it): the next call mints another. */
  public void invalidate(ScopedCredentials session) {
    cache.invalidate(session.awsCredentials());
  }

  /** At most 12 h and at most what is left of the session (whole seconds, down), at least 1 s. */
  static Duration expiry(Instant now, @Nullable Instant sessionExpiration) {
    if (sessionExpiration == null) {
      return MAX_EXPIRY;
    }
    // X-Amz-Date is now truncated to the second, so date + expiry <= the session's expiration.
    long left = Duration.between(now, sessionExpiration).getSeconds();
    return Duration.ofSeconds(Math.max(1, Math.min(MAX_EXPIRY.getSeconds(), left)));
  }

  /**
   * Mints one token. Public so the minting benchmark measures this code and not a copy of it.
   *
   * @param expiry 1 s to 12 h
   */
  public static String mint(
      AwsCredentialsIdentity credentials, Region region, Duration expiry, Clock clock) {
    if (expiry.compareTo(Duration.ofSeconds(1)) < 0 || expiry.compareTo(MAX_EXPIRY) > 0) {
      throw new IllegalArgumentException("expiry must be 1 s to 12 h, was " + expiry);
    }
    SdkHttpRequest signed =
        SIGNER
            .sign(
                r ->
                    r.identity(credentials)
                        .request(REQUEST)
                        .putProperty(
                            AwsV4HttpSigner.SERVICE_SIGNING_NAME, RuntimeSigner.SIGNING_NAME)
                        .putProperty(AwsV4HttpSigner.REGION_NAME, region.id())
                        .putProperty(
                            AwsV4HttpSigner.AUTH_LOCATION,
                            AwsV4FamilyHttpSigner.AuthLocation.QUERY_STRING)
                        .putProperty(AwsV4HttpSigner.EXPIRATION_DURATION, expiry)
                        .putProperty(AwsV4HttpSigner.SIGNING_CLOCK, clock))
            .request();
    String url = signed.getUri().toString();
    String stripped = url.startsWith("https://") ? url.substring("https://".length()) : url;
    return PREFIX
        + Base64.getEncoder()
            .encodeToString((stripped + "&Version=1").getBytes(StandardCharsets.UTF_8));
  }
}
