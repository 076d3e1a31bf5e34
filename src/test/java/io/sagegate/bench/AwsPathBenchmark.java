package io.sagegate.bench;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.aws.AwsClients;
import io.sagegate.aws.SageMakerBackend;
import io.sagegate.aws.SageMakerBackendFactory;
import io.sagegate.aws.StsCredentialsProvider;
import io.sagegate.backend.Invocation;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.config.AwsSettings;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.config.RuleConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.testsupport.aws.SageMakerEmulator;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;

/**
 * The AWS path's own per-request work, without any network I/O: {@code stsHit} is {@link
 * StsCredentialsProvider#credentialsFor} for a caller whose session is cached (the STS session
 * comes once from the in-process emulator), with 0 or 2 session tags configured; {@code prepare} is
 * {@link SageMakerBackend#prepare}: building, signing (24-byte body, the load benchmark's) and
 * turning the request into Vert.x request options. Both run on a Vert.x event loop, as in the
 * gateway, in batches of {@value #BATCH} per hop. Not a test. Run (about 40 s):
 *
 * <pre>
 * mvn -o -q test-compile
 * mvn -o -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp target/test-classes:target/classes:$(cat target/cp.txt) org.openjdk.jmh.Main AwsPathBenchmark \
 *     -f 1 -wi 3 -i 5 -w 1s -r 1s
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class AwsPathBenchmark {

  private static final int BATCH = 1000;
  private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
  private static final String KEY = "AKIABENCHAWSPATH0001";
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

  /** Number of session tags configured (each read from a claim of the caller). */
  @Param({"0", "2"})
  public int tags;

  private Vertx vertx;
  private SageMakerEmulator emulator;
  private AwsClients clients;
  private StsCredentialsProvider sts;
  private SageMakerBackendFactory factory;
  private SageMakerBackend backend;
  private Caller caller;
  private EndpointConfig endpoint;
  private Decision decision;
  private Invocation invocation;
  private Context context;

  @Setup(Level.Trial)
  public void setUp() throws Exception {
    vertx = Vertx.vertx();
    emulator =
        SageMakerEmulator.start(vertx)
            .toCompletionStage()
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    emulator.addCredentials(KEY, "bench-secret");
    String role = emulator.roleArn("bench-invoke");
    emulator.addRole(
        SageMakerEmulator.Role.allowing(
            role, KEY, null, List.of("sagemaker:InvokeEndpoint*"), List.of("*")));
    Map<String, String> sessionTags =
        tags == 0 ? Map.of() : Map.of("team", "team", "tenant", "tenant");
    AwsSettings settings =
        new AwsSettings(
            emulator.region(),
            null,
            emulator.uri().toString(),
            null,
            null,
            Duration.ofHours(1),
            sessionTags,
            null,
            false,
            0,
            null);
    clients =
        AwsClients.create(
            settings,
            StaticCredentialsProvider.create(AwsBasicCredentials.create(KEY, "bench-secret")));
    sts = StsCredentialsProvider.create(vertx, clients, settings, new SimpleMeterRegistry());
    endpoint =
        new EndpointConfig(
            "bench",
            Map.of(),
            new BackendConfig("sagemaker", null, null, null, 0, null, role, null));
    caller =
        new Caller(
            "alice",
            "https://issuer.example",
            "jti-1",
            java.util.Set.of("data-scientists"),
            null,
            null,
            Map.of(
                "sub",
                "alice",
                "team",
                "risk",
                "tenant",
                "acme",
                "groups",
                List.of("data-scientists")),
            null);
    decision =
        Decision.allow(
            new RuleConfig("r", RuleConfig.Effect.ALLOW, null, null, null, null, null, null));
    ScopedCredentials session =
        sts.credentialsFor(caller, endpoint, Action.INVOKE, decision)
            .toCompletionStage()
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
    factory =
        new SageMakerBackendFactory(
            vertx,
            URI.create("https://runtime.sagemaker.us-east-1.amazonaws.com"),
            clients.region());
    backend = (SageMakerBackend) factory.create(endpoint);
    context = vertx.getOrCreateContext();
    invocation =
        new Invocation(
            "req-1",
            endpoint,
            Action.INVOKE,
            caller,
            HEADERS,
            Buffer.buffer("{\"inputs\":\"I love it\"}\n"),
            session,
            decision,
            null);
  }

  @Setup(Level.Iteration)
  public void checkHitIsSynchronous() throws Exception {
    onLoop(
        null,
        () -> {
          Future<ScopedCredentials> f =
              sts.credentialsFor(caller, endpoint, Action.INVOKE, decision);
          if (!f.succeeded()) {
            throw new IllegalStateException(
                "the cached session is not handed out synchronously: " + f);
          }
        });
  }

  @TearDown(Level.Trial)
  public void tearDown() throws Exception {
    factory.close();
    clients.close();
    emulator.close();
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** The credentials stage with the caller's session cached. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void stsHit(Blackhole bh, Cpu cpu) throws Exception {
    onLoop(
        cpu,
        () -> {
          for (int i = 0; i < BATCH; i++) {
            bh.consume(sts.credentialsFor(caller, endpoint, Action.INVOKE, decision).result());
          }
        });
  }

  /**
   * The backend's request building, signing and request options (body hash of 24 bytes included).
   */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public void prepare(Blackhole bh, Cpu cpu) throws Exception {
    onLoop(
        cpu,
        () -> {
          for (int i = 0; i < BATCH; i++) {
            bh.consume(backend.prepare(invocation, "invocations"));
          }
        });
  }

  /**
   * Runs {@code work} on the event loop of {@link #context} and waits for it: the code under test
   * runs as it does in the gateway, and the hop is paid once per {@value #BATCH} operations. Adds
   * the event loop's CPU time for the batch to {@code cpu}.
   */
  private void onLoop(Cpu cpu, Runnable work) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          try {
            long start = THREADS.getCurrentThreadCpuTime();
            work.run();
            if (cpu != null) {
              cpu.cpuNanos += THREADS.getCurrentThreadCpuTime() - start;
              cpu.operations += BATCH;
            }
            done.complete(null);
          } catch (RuntimeException e) {
            done.completeExceptionally(e);
          }
        });
    done.get(60, TimeUnit.SECONDS);
  }

  /**
   * The event loop's CPU time per iteration, next to the wall time: the machine is shared, and CPU
   * time is what other processes' load does not inflate. CPU ns per operation = cpuNanos /
   * operations.
   */
  @State(Scope.Thread)
  @AuxCounters(AuxCounters.Type.EVENTS)
  public static class Cpu {
    public long cpuNanos;
    public long operations;

    @Setup(Level.Iteration)
    public void reset() {
      cpuNanos = 0;
      operations = 0;
    }
  }
}
