package io.sagegate.bench;

import static io.sagegate.testsupport.Bounds.AWAIT_SECONDS;
import static java.util.concurrent.TimeUnit.SECONDS;

import io.sagegate.authz.Action;
import io.sagegate.aws.SageMakerBackendFactory;
import io.sagegate.backend.Backend;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sagemakerruntime.SageMakerRuntimeAsyncClient;
import software.amazon.awssdk.services.sagemakerruntime.model.InvokeEndpointRequest;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.model.Credentials;

/**
 * The two ways the {@code sagemaker} backend could call SageMaker Runtime, measured against the
 * same emulator (SigV4, session and IAM checks on) with the same cached STS session credentials:
 *
 * <ul>
 *   <li>{@code vertx+signer}: {@link io.sagegate.aws.SageMakerBackend#invoke} (Vert.x HttpClient,
 *       SDK {@code AwsV4HttpSigner}), as the gateway runs it;
 *   <li>{@code sdk-async}: {@link SageMakerRuntimeAsyncClient} on Netty (maxConcurrency 500, read
 *       timeout 70 s, as SageMaker needs) with per-request credentials through {@link
 *       AwsRequestOverrideConfiguration}; each answer is handed back to a Vert.x context, as the
 *       gateway would have to before writing to the caller.
 * </ul>
 *
 * <p>Closed loop: {@code concurrency} requests in flight, {@code requests} in total per round,
 * after a warm-up; rounds alternate between the two. Prints throughput, latency percentiles, and
 * the process's CPU time and allocated bytes per request (ThreadMXBean, live threads), plus the
 * thread count. Not a test. Usage:
 *
 * <pre>
 * java -cp ... io.sagegate.bench.ClientComparison [requests=20000] [concurrency=64] [rounds=2]
 *     [warmup=REQUESTS]                  # warm-up requests per client, before the rounds
 *     [emulator=http://127.0.0.1:PORT]   # default: an in-process emulator
 * </pre>
 *
 * With an external emulator ({@link EmulatorServer}, auth checks on), its gateway credentials are
 * read from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
 */
public final class ClientComparison {

  private static final Region REGION = Region.US_EAST_1;
  private static final byte[] BODY =
      "{\"text\":\"great product\"}".getBytes(StandardCharsets.UTF_8);

  private ClientComparison() {}

  /** One closed-loop driver: {@code send} starts one request and calls back with success. */
  private interface Sender {
    void send(Consumer<Boolean> done);
  }

  private record Result(
      String name,
      int requests,
      double seconds,
      long[] latencyNanos,
      int errors,
      long cpuNanos,
      long allocatedBytes,
      int threads) {
    String line() {
      Arrays.sort(latencyNanos);
      return String.format(
          Locale.ROOT,
          "RESULT client=%s requests=%d seconds=%.3f rps=%.0f p50_us=%d p99_us=%d p999_us=%d errors=%d"
              + " cpu_us_per_req=%.1f alloc_kb_per_req=%.1f threads=%d",
          name,
          requests,
          seconds,
          requests / seconds,
          pct(0.50) / 1000,
          pct(0.99) / 1000,
          pct(0.999) / 1000,
          errors,
          cpuNanos / 1000.0 / requests,
          allocatedBytes / 1024.0 / requests,
          threads);
    }

    long pct(double p) {
      return latencyNanos[
          Math.min(latencyNanos.length - 1, (int) Math.ceil(p * latencyNanos.length) - 1)];
    }
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new java.util.HashMap<>();
    for (String a : args) {
      int eq = a.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException("arguments are key=value, got " + a);
      }
      opts.put(a.substring(0, eq), a.substring(eq + 1));
    }
    int requests = Integer.parseInt(opts.getOrDefault("requests", "20000"));
    int concurrency = Integer.parseInt(opts.getOrDefault("concurrency", "64"));
    int rounds = Integer.parseInt(opts.getOrDefault("rounds", "2"));
    int warmup = Integer.parseInt(opts.getOrDefault("warmup", String.valueOf(requests)));
    Vertx vertx = Vertx.vertx();
    String key = System.getenv().getOrDefault("AWS_ACCESS_KEY_ID", "AKIABENCHCOMPARE0001");
    String secret =
        System.getenv().getOrDefault("AWS_SECRET_ACCESS_KEY", "compare-" + System.nanoTime());
    URI emulator;
    if (opts.containsKey("emulator")) {
      emulator = URI.create(opts.get("emulator"));
    } else {
      SageMakerEmulator aws = EmulatorServer.start(vertx, key, secret, true);
      emulator = aws.uri();
    }
    System.err.println(
        "emulator "
            + emulator
            + ", "
            + requests
            + " requests per round, concurrency "
            + concurrency
            + ", "
            + rounds
            + " rounds");

    // The cached session: one AssumeRole, then both clients sign with these credentials.
    String roleArn =
        "arn:aws:iam::" + SageMakerEmulator.DEFAULT_ACCOUNT + ":role/" + EmulatorServer.ROLE;
    AwsSessionCredentials session;
    try (StsClient sts =
        StsClient.builder()
            .region(REGION)
            .endpointOverride(emulator)
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create(key, secret)))
            .httpClient(UrlConnectionHttpClient.create())
            .build()) {
      Credentials c =
          sts.assumeRole(
                  r ->
                      r.roleArn(roleArn)
                          .roleSessionName("bench-compare")
                          .externalId(EmulatorServer.EXTERNAL_ID))
              .credentials();
      session =
          AwsSessionCredentials.create(c.accessKeyId(), c.secretAccessKey(), c.sessionToken());
    }
    ScopedCredentials scoped = new ScopedCredentials(session, roleArn, "bench-compare", null, null);

    // (a) the gateway's backend
    SageMakerBackendFactory factory = new SageMakerBackendFactory(vertx, emulator, REGION);
    EndpointConfig endpoint =
        new EndpointConfig(
            EmulatorServer.ENDPOINT,
            Map.of(),
            new BackendConfig(BackendConfig.SAGEMAKER, null, null, null, 0, null, roleArn, null));
    Backend backend = factory.create(endpoint);
    InvocationHeaders headers =
        new InvocationHeaders(
            "application/json",
            "application/json",
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null,
            null);
    AtomicLong ids = new AtomicLong();
    Sender vertxSender =
        done ->
            backend
                .invoke(
                    new Invocation(
                        "r" + ids.incrementAndGet(),
                        endpoint,
                        Action.INVOKE,
                        null,
                        headers,
                        Buffer.buffer(BODY),
                        scoped))
                .onComplete(ar -> done.accept(ar.succeeded() && ar.result().status() == 200));

    // (b) the SDK's async client, per-request credentials
    NettyNioAsyncHttpClient.Builder http =
        NettyNioAsyncHttpClient.builder()
            .maxConcurrency(500)
            .readTimeout(Duration.ofSeconds(70))
            .connectionTimeout(Duration.ofSeconds(5));
    SageMakerRuntimeAsyncClient sdk =
        SageMakerRuntimeAsyncClient.builder()
            .region(REGION)
            .endpointOverride(emulator)
            // the client's own identity: the gateway's; every request overrides it with the session
            .credentialsProvider(
                StaticCredentialsProvider.create(AwsBasicCredentials.create(key, secret)))
            .httpClientBuilder(http)
            .build();
    AwsRequestOverrideConfiguration perRequest =
        AwsRequestOverrideConfiguration.builder()
            .credentialsProvider(StaticCredentialsProvider.create(session))
            .build();
    Context sdkContext = vertx.getOrCreateContext();
    Sender sdkSender =
        done -> {
          CompletableFuture<?> f =
              sdk.invokeEndpoint(
                  InvokeEndpointRequest.builder()
                      .endpointName(EmulatorServer.ENDPOINT)
                      .contentType("application/json")
                      .accept("application/json")
                      .body(SdkBytes.fromByteArrayUnsafe(BODY))
                      .overrideConfiguration(perRequest)
                      .build());
          // Back to a Vert.x context, where the gateway writes the caller's answer.
          f.whenComplete((r, t) -> sdkContext.runOnContext(v -> done.accept(t == null)));
        };

    System.err.println("warm-up");
    // With one processor the JIT is slow: warm both clients (and the emulator) fully first.
    for (int i = 0; i < 2; i++) {
      run(vertx, "vertx+signer", vertxSender, warmup / 2, concurrency);
      run(vertx, "sdk-async", sdkSender, warmup / 2, concurrency);
    }
    for (int i = 0; i < rounds; i++) {
      System.out.println(run(vertx, "vertx+signer", vertxSender, requests, concurrency).line());
      System.out.println(run(vertx, "sdk-async", sdkSender, requests, concurrency).line());
    }
    sdk.close();
    factory.close();
    vertx.close().await(AWAIT_SECONDS, SECONDS);
    System.exit(0);
  }

  private static Result run(Vertx vertx, String name, Sender sender, int requests, int concurrency)
      throws InterruptedException {
    System.gc();
    long[] latency = new long[requests];
    AtomicInteger started = new AtomicInteger();
    AtomicInteger finished = new AtomicInteger();
    AtomicInteger errors = new AtomicInteger();
    CompletableFuture<Void> all = new CompletableFuture<>();
    com.sun.management.ThreadMXBean threads =
        (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    long alloc0 = allocated(threads);
    long cpu0 = os.getProcessCpuTime();
    long t0 = System.nanoTime();
    Runnable[] next = new Runnable[1];
    next[0] =
        () -> {
          int i = started.getAndIncrement();
          if (i >= requests) {
            return;
          }
          long s = System.nanoTime();
          sender.send(
              ok -> {
                latency[i] = System.nanoTime() - s;
                if (!ok) {
                  errors.incrementAndGet();
                }
                if (finished.incrementAndGet() == requests) {
                  all.complete(null);
                } else {
                  next[0].run();
                }
              });
        };
    vertx.runOnContext(
        v -> {
          for (int c = 0; c < concurrency; c++) {
            next[0].run();
          }
        });
    try {
      all.get(5, java.util.concurrent.TimeUnit.MINUTES);
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(
          name + ": did not finish (" + finished.get() + "/" + requests + ")", e);
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    long cpu = os.getProcessCpuTime() - cpu0;
    long alloc = allocated(threads) - alloc0;
    return new Result(
        name, requests, seconds, latency, errors.get(), cpu, alloc, threads.getThreadCount());
  }

  private static long allocated(com.sun.management.ThreadMXBean threads) {
    long sum = 0;
    for (long b : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      sum += Math.max(0, b);
    }
    return sum;
  }
}
