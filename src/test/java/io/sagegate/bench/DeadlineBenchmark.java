package io.sagegate.bench;

import io.sagegate.backend.CallDeadlines;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a call's whole-call timeout costs: a Vert.x timer set and cancelled (what {@code
 * ContainerBackend} did per call) against a {@link CallDeadlines} arm and disarm. Both run on an
 * event loop, as in the gateway, in batches of {@value #BATCH} (one batch per benchmark invocation,
 * so the hand-over to the loop is spread over the batch). Not a test. Run:
 *
 * <pre>
 * mvn -o -q test-compile
 * mvn -o -q dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test
 * java -cp target/test-classes:target/classes:$(cat target/cp.txt) org.openjdk.jmh.Main DeadlineBenchmark \
 *     -f 1 -wi 2 -i 3 -w 1s -r 1s
 * </pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(1)
public class DeadlineBenchmark {

  static final int BATCH = 1_000;
  private static final long TIMEOUT_MS = 60_000;

  private Vertx vertx;
  private Context context;
  private CallDeadlines deadlines;
  private final Entry[] entries = new Entry[BATCH];

  private static final class Entry extends CallDeadlines.Entry {
    @Override
    protected void expired() {}
  }

  @Setup
  public void setUp() throws Exception {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
    CompletableFuture<CallDeadlines> made = new CompletableFuture<>();
    context.runOnContext(v -> made.complete(new CallDeadlines(vertx, TIMEOUT_MS)));
    deadlines = made.get(10, TimeUnit.SECONDS);
    for (int i = 0; i < BATCH; i++) {
      entries[i] = new Entry();
    }
  }

  @TearDown
  public void tearDown() throws Exception {
    deadlines.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** Set then cancel, as a call that answers at once; all on the event loop. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public long vertxTimer() throws Exception {
    CompletableFuture<Long> done = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          long sum = 0;
          for (int i = 0; i < BATCH; i++) {
            long id = vertx.setTimer(TIMEOUT_MS, t -> {});
            sum += id;
            vertx.cancelTimer(id);
          }
          done.complete(sum);
        });
    return done.get(10, TimeUnit.SECONDS);
  }

  /** Arm then disarm (including the context look-up arm does); all on the event loop. */
  @Benchmark
  @OperationsPerInvocation(BATCH)
  public int callDeadlines() throws Exception {
    CompletableFuture<Integer> done = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          int n = 0;
          for (Entry e : entries) {
            deadlines.arm(e);
            n += deadlines.disarm(e) ? 1 : 0;
          }
          done.complete(n);
        });
    return done.get(10, TimeUnit.SECONDS);
  }
}
