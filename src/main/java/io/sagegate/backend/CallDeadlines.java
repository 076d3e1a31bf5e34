package io.sagegate.backend;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * The whole-call deadlines of one backend's in-flight calls, enforced by one periodic sweep instead
 * of one Vert.x timer per call.
 *
 * <p>Why hand-written: a Vert.x timer per call costs a {@code ConcurrentHashMap} put and remove
 * plus an insert into and removal from Netty's scheduled-task priority queue, which a profile under
 * load showed as ~6% of the gateway's CPU. All calls of one backend share one timeout, so their
 * deadlines are in insertion order: an intrusive doubly-linked list (the {@link Entry} is the call
 * itself) gives O(1) {@link #arm arm} at the tail and O(1) {@link #disarm disarm} on completion,
 * without allocating; the sweep only ever looks at the head.
 *
 * <p>Accuracy: an entry expires no earlier than {@code timeoutMs} after {@link #arm}, and at most
 * one {@link #sweepPeriodMs() sweep period} later (plus however late the event loop runs the sweep
 * timer and then the entry's context). {@link Entry#expired()} runs on the Vert.x context that was
 * current when the entry was armed, because a call's promise and request must only be touched from
 * there.
 *
 * <p>Thread safety: a backend is shared by all event loops, so the list is guarded by one lock,
 * held only for a few pointer writes (uncontended in the common case; if it ever shows up
 * contended, stripe one list per event loop). Entries must not be shared between instances.
 */
public final class CallDeadlines {

  /** Shortest sweep period: a tiny timeout must not make the sweep spin. */
  public static final long MIN_SWEEP_PERIOD_MS = 5;

  /** Longest sweep period: a long timeout still fires at most this late. */
  public static final long MAX_SWEEP_PERIOD_MS = 250;

  /**
   * One call's deadline. Extend it (the call object itself), so that arming allocates nothing. An
   * entry can be armed again after it was disarmed or has expired.
   */
  public abstract static class Entry {
    private @Nullable Entry prev;
    private @Nullable Entry next;
    private long deadlineNanos;
    private @Nullable Context context;
    private boolean armed;

    /**
     * The deadline passed: runs once, on the context that was current at {@link #arm}, unless
     * {@link #disarm} came first. A disarm that races with the sweep may still see this run
     * afterwards, so it must tolerate a call that already ended.
     */
    protected abstract void expired();
  }

  private final Vertx vertx;
  private final long timeoutMs;
  private final long timeoutNanos;
  private final long sweepPeriodMs;
  private final long sweepTimer;
  private final Object lock = new Object();
  private @Nullable Entry head;
  private @Nullable Entry tail;
  private int size;
  private boolean closed;

  /**
   * Starts the sweep timer ({@link #sweepPeriodMs(long)}); {@link #close()} stops it.
   *
   * @param timeoutMs every entry's timeout, positive
   */
  public CallDeadlines(Vertx vertx, long timeoutMs) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    if (timeoutMs <= 0) {
      throw new IllegalArgumentException("timeoutMs must be positive, got " + timeoutMs);
    }
    this.timeoutMs = timeoutMs;
    this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    this.sweepPeriodMs = sweepPeriodMs(timeoutMs);
    this.sweepTimer = vertx.setPeriodic(sweepPeriodMs, id -> sweep());
  }

  /**
   * The sweep period for a timeout: a twentieth of it, so an entry fires at most 5% late, clamped
   * to [{@value #MIN_SWEEP_PERIOD_MS}, {@value #MAX_SWEEP_PERIOD_MS}] ms: below 5 ms the idle
   * wake-ups would cost more than they buy; above 250 ms a lateness of a quarter second starts to
   * be noticed by a caller waiting on a long (e.g. SageMaker's 60 s) timeout. An idle sweep is one
   * lock and one clock read, so even 200 wake-ups a second are negligible.
   */
  public static long sweepPeriodMs(long timeoutMs) {
    return Math.max(MIN_SWEEP_PERIOD_MS, Math.min(MAX_SWEEP_PERIOD_MS, timeoutMs / 20));
  }

  public long timeoutMs() {
    return timeoutMs;
  }

  public long sweepPeriodMs() {
    return sweepPeriodMs;
  }

  /**
   * Arms {@code entry}: it {@linkplain Entry#expired() expires} {@link #timeoutMs()} from now on
   * the current Vert.x context ({@code vertx.getOrCreateContext()}).
   *
   * @throws IllegalStateException when the entry is armed already
   */
  public void arm(Entry entry) {
    arm(entry, vertx.getOrCreateContext());
  }

  /** As {@link #arm(Entry)}, expiring on {@code context}. */
  public void arm(Entry entry, Context context) {
    Objects.requireNonNull(context, "context");
    synchronized (lock) {
      if (entry.armed) {
        throw new IllegalStateException("entry is armed already");
      }
      entry.context = context;
      // Read the clock under the lock so that the list stays ordered by deadline.
      entry.deadlineNanos = System.nanoTime() + timeoutNanos;
      entry.armed = true;
      entry.prev = tail;
      entry.next = null;
      if (tail == null) {
        head = entry;
      } else {
        tail.next = entry;
      }
      tail = entry;
      size++;
    }
  }

  /**
   * Disarms {@code entry}, so that it does not expire.
   *
   * @return true when it was armed; false when it was not, or the sweep has taken it already (its
   *     {@link Entry#expired()} then runs or has run)
   */
  public boolean disarm(Entry entry) {
    synchronized (lock) {
      if (!entry.armed) {
        return false;
      }
      unlink(entry);
      entry.context = null;
      return true;
    }
  }

  /** How many entries are armed (in flight, not yet expired); for tests and metrics. */
  public int size() {
    synchronized (lock) {
      return size;
    }
  }

  /**
   * Stops the sweep. Entries armed now never expire (the owner fails its in-flight calls itself if
   * it needs to); arming afterwards is allowed but nothing expires any more.
   */
  public void close() {
    synchronized (lock) {
      closed = true;
    }
    vertx.cancelTimer(sweepTimer);
  }

  /** Takes the overdue entries off the head, then runs each one's expiry on its own context. */
  void sweep() {
    // Allocated only when something expires, which is off the hot path.
    List<Entry> overdue = null;
    List<Context> contexts = null;
    synchronized (lock) {
      if (closed) {
        return;
      }
      long now = System.nanoTime();
      while (head != null && head.deadlineNanos - now <= 0) {
        Entry e = head;
        unlink(e);
        if (overdue == null || contexts == null) { // both null until the first overdue entry
          overdue = new ArrayList<>();
          contexts = new ArrayList<>();
        }
        overdue.add(e);
        contexts.add(e.context);
        e.context = null;
      }
    }
    if (overdue == null || contexts == null) { // nothing expired: both still null
      return;
    }
    // Outside the lock: only enqueues a task on each entry's event loop.
    for (int i = 0; i < overdue.size(); i++) {
      Entry target = overdue.get(i);
      contexts.get(i).runOnContext(v -> target.expired());
    }
  }

  private void unlink(Entry e) {
    if (e.prev == null) {
      head = e.next;
    } else {
      e.prev.next = e.next;
    }
    if (e.next == null) {
      tail = e.prev;
    } else {
      e.next.prev = e.prev;
    }
    e.prev = null;
    e.next = null;
    e.armed = false;
    size--;
  }
}
