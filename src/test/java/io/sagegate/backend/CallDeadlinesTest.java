package io.sagegate.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class CallDeadlinesTest {

  /** Generous bound for waiting on real event loops; never reached when the code is right. */
  private static final long WAIT_S = 10;

  private Vertx vertx;
  private final List<CallDeadlines> opened = new ArrayList<>();

  @BeforeEach
  void setUp(Vertx vertx) {
    this.vertx = vertx;
  }

  @AfterEach
  void closeAll() {
    opened.forEach(CallDeadlines::close);
  }

  /** A test entry: counts its expiries and tells {@code onExpiry} about each. */
  private static final class TestEntry extends CallDeadlines.Entry {
    final int id;
    final AtomicInteger expiries = new AtomicInteger();
    final Consumer<TestEntry> onExpiry;

    TestEntry(int id, Consumer<TestEntry> onExpiry) {
      this.id = id;
      this.onExpiry = onExpiry;
    }

    @Override
    protected void expired() {
      expiries.incrementAndGet();
      onExpiry.accept(this);
    }
  }

  /** A fresh event-loop context, so that tests can tell contexts apart. */
  private Context newContext() {
    return ((VertxInternal) vertx).createEventLoopContext();
  }

  /** Creates the deadlines on {@code context}, so their sweep timer runs there. */
  private CallDeadlines deadlinesOn(Context context, long timeoutMs) throws Exception {
    CompletableFuture<CallDeadlines> made = new CompletableFuture<>();
    context.runOnContext(v -> made.complete(new CallDeadlines(vertx, timeoutMs)));
    CallDeadlines d = made.get(WAIT_S, TimeUnit.SECONDS);
    opened.add(d);
    return d;
  }

  /** Runs {@code action} on {@code context} and waits for it. */
  private static void on(Context context, Runnable action) throws Exception {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(
        v -> {
          try {
            action.run();
            done.complete(null);
          } catch (Throwable t) {
            done.completeExceptionally(t);
          }
        });
    done.get(WAIT_S, TimeUnit.SECONDS);
  }

  @Test
  void sweepPeriodIsATwentiethOfTheTimeoutWithinBounds() {
    assertEquals(5, CallDeadlines.sweepPeriodMs(1));
    assertEquals(5, CallDeadlines.sweepPeriodMs(100));
    assertEquals(25, CallDeadlines.sweepPeriodMs(500));
    assertEquals(250, CallDeadlines.sweepPeriodMs(5_000));
    assertEquals(250, CallDeadlines.sweepPeriodMs(60_000));
    assertThrows(IllegalArgumentException.class, () -> new CallDeadlines(vertx, 0));
  }

  @Test
  void entryExpiresOnItsOwnContextNotBeforeTheTimeout(VertxTestContext t) throws Exception {
    long timeoutMs = 200;
    Context sweepContext = newContext();
    Context callContext = newContext();
    assertNotSame(sweepContext, callContext);
    CallDeadlines deadlines = deadlinesOn(sweepContext, timeoutMs);
    long[] armedAt = new long[1];
    TestEntry entry =
        new TestEntry(
            0,
            e ->
                t.verify(
                    () -> {
                      long elapsedMs =
                          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - armedAt[0]);
                      assertSame(callContext, Vertx.currentContext(), "expired on another context");
                      assertTrue(elapsedMs >= timeoutMs, "expired early: " + elapsedMs + " ms");
                      assertTrue(
                          elapsedMs < timeoutMs + deadlines.sweepPeriodMs() + 2_000,
                          "expired late: " + elapsedMs);
                      assertEquals(0, deadlines.size());
                      // Already taken by the sweep: disarming now is a no-op.
                      assertFalse(deadlines.disarm(e));
                      t.completeNow();
                    }));
    on(
        callContext,
        () -> {
          armedAt[0] = System.nanoTime();
          deadlines.arm(entry);
        });
    assertEquals(1, deadlines.size());
  }

  @Test
  void armingAnArmedEntryIsRefused() throws Exception {
    CallDeadlines deadlines = deadlinesOn(newContext(), 60_000);
    TestEntry entry = new TestEntry(0, e -> {});
    deadlines.arm(entry, newContext());
    assertThrows(IllegalStateException.class, () -> deadlines.arm(entry, newContext()));
    assertTrue(deadlines.disarm(entry));
    assertFalse(deadlines.disarm(entry));
    // Disarmed, it can be armed again.
    deadlines.arm(entry, newContext());
    assertEquals(1, deadlines.size());
  }

  @Test
  void manyEntriesExpireInOrderAndDisarmedOnesNever(VertxTestContext t) throws Exception {
    int n = 1_000;
    Context context = newContext();
    CallDeadlines deadlines = deadlinesOn(newContext(), 50);
    List<Integer> fired = new ArrayList<>(); // touched on `context` only
    List<TestEntry> entries = new ArrayList<>();
    Consumer<TestEntry> record =
        e ->
            t.verify(
                () -> {
                  assertSame(context, Vertx.currentContext());
                  fired.add(e.id);
                  if (e.id == n - 1) {
                    // The last entry's deadline is the latest: everything before it was swept by
                    // now,
                    // and dispatched ahead of it on this same context.
                    List<Integer> expected = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                      if (i % 3 != 1) {
                        expected.add(i);
                      }
                    }
                    assertEquals(expected, fired);
                    for (TestEntry entry : entries) {
                      assertEquals(
                          entry.id % 3 == 1 ? 0 : 1, entry.expiries.get(), "entry " + entry.id);
                    }
                    assertEquals(0, deadlines.size());
                    t.completeNow();
                  }
                });
    on(
        context,
        () -> {
          for (int i = 0; i < n; i++) {
            TestEntry e = new TestEntry(i, record);
            entries.add(e);
            deadlines.arm(e);
          }
          // Remove from the head, the middle and everywhere in between.
          for (TestEntry e : entries) {
            if (e.id % 3 == 1) {
              assertTrue(deadlines.disarm(e));
            }
          }
          assertEquals(n - n / 3, deadlines.size());
        });
  }

  @Test
  void closeStopsTheSweep(VertxTestContext t) throws Exception {
    long timeoutMs = 20;
    Context context = newContext();
    CallDeadlines closed = deadlinesOn(newContext(), timeoutMs);
    CallDeadlines witness = deadlinesOn(newContext(), timeoutMs);
    TestEntry silenced = new TestEntry(0, e -> t.failNow("a closed sweep expired an entry"));
    TestEntry later =
        new TestEntry(
            1,
            e -> {
              // Armed after `silenced`: its deadline has passed too. Even an explicit sweep of the
              // closed instance expires nothing; any expiry would be queued on this context before
              // the check below.
              closed.sweep();
              context.runOnContext(
                  v ->
                      t.verify(
                          () -> {
                            assertEquals(0, silenced.expiries.get());
                            assertEquals(1, closed.size());
                            t.completeNow();
                          }));
            });
    on(
        context,
        () -> {
          closed.arm(silenced);
          closed.close();
          witness.arm(later);
        });
  }

  @Test
  void armAndDisarmFromTwoEventLoopsKeepTheListConsistent() throws Exception {
    CallDeadlines deadlines = deadlinesOn(newContext(), 60_000);
    int perLoop = 20_000;
    List<CompletableFuture<Void>> done = new ArrayList<>();
    for (int loop = 0; loop < 2; loop++) {
      Context context = newContext();
      CompletableFuture<Void> f = new CompletableFuture<>();
      done.add(f);
      context.runOnContext(
          v -> {
            try {
              TestEntry[] window = new TestEntry[8];
              for (int i = 0; i < perLoop; i++) {
                int slot = i % window.length;
                if (window[slot] != null) {
                  assertTrue(deadlines.disarm(window[slot]));
                }
                window[slot] = new TestEntry(i, e -> {});
                deadlines.arm(window[slot]);
              }
              for (TestEntry e : window) {
                assertTrue(deadlines.disarm(e));
              }
              f.complete(null);
            } catch (Throwable e) {
              f.completeExceptionally(e);
            }
          });
    }
    CompletableFuture.allOf(done.toArray(new CompletableFuture[0])).get(WAIT_S, TimeUnit.SECONDS);
    assertEquals(0, deadlines.size());
  }
}
