package io.sagegate.bench;

import io.sagegate.aws.BearerTokens;
import io.sagegate.credentials.ScopedCredentials;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.regions.Region;

/**
 * What SageMaker's bearer token costs the OpenAI path: {@link BearerTokens#mint} (the SDK signer
 * presigning {@code CallWithBearerToken} in the query string, then base64), paid once per session,
 * and the cached lookup every later call of that session pays instead. Not a test. Run (see
 * bench/AWS.md):
 *
 * <pre>
 * mvn -o -q test-compile
 * mvn -o -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp target/test-classes:target/classes:$(cat target/cp.txt) org.openjdk.jmh.Main BearerTokenBenchmark \
 *     -f 1 -wi 3 -i 5 -w 1s -r 1s
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class BearerTokenBenchmark {

  // Fake, benchmark-only credentials.
  private final AwsSessionCredentials credentials =
      AwsSessionCredentials.create(
          "ASIABENCHMARK0000001",
          "benchmark-secret-not-an-aws-secret-000000",
          "IQoJb3JpZ2luX2VjEBenchmarkSessionToken".repeat(20));
  private final ScopedCredentials session =
      new ScopedCredentials(
          credentials,
          "arn:aws:iam::123456789012:role/bench",
          "bench",
          "bench",
          Instant.now().plus(Duration.ofHours(1)));
  private final BearerTokens tokens = new BearerTokens(Clock.systemUTC());
  private final Clock clock = Clock.systemUTC();

  /** A token minted afresh: what the first call of a session pays. */
  @Benchmark
  public String mint() {
    return BearerTokens.mint(credentials, Region.US_EAST_1, Duration.ofMinutes(60), clock);
  }

  /** The session's cached token: what every later call pays. */
  @Benchmark
  public String cached() {
    return tokens.token(session, Region.US_EAST_1);
  }
}
