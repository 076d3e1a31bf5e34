package io.sagegate.limits;

import com.netflix.concurrency.limits.Limiter;
import com.netflix.concurrency.limits.limit.Gradient2Limit;
import com.netflix.concurrency.limits.limiter.SimpleLimiter;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A cap on calls in flight to one endpoint (or one inference component of it), in this replica. A
 * call takes a permit before any STS or backend call and gives it back when its response ends; none
 * left means the call is refused at once, never queued. Fixed: a counter. Adaptive: Netflix's
 * concurrency-limits (Gradient2, which lowers the limit when latency rises over its long-term
 * average and raises it again when it falls), between 1 and {@code maxConcurrency}.
 */
public abstract sealed class ConcurrencyLimiter {

  /** A call's hold on the limiter; released once, when its response ends. */
  public interface Permit {
    /**
     * @param ok whether the call ended well (adaptive limits learn from good calls only)
     */
    void release(boolean ok);
  }

  final int max;
  final boolean adaptive;

  private ConcurrencyLimiter(int max, boolean adaptive) {
    this.max = max;
    this.adaptive = adaptive;
  }

  public static ConcurrencyLimiter of(int max, boolean adaptive) {
    return adaptive ? new Adaptive(max) : new Fixed(max);
  }

  /** A permit, or null when {@link #limit()} calls are in flight already. */
  public abstract @Nullable Permit tryAcquire();

  /** The current limit: {@code maxConcurrency}, or the adaptive limit below it. */
  public abstract int limit();

  /** Calls in flight now. */
  public abstract int inFlight();

  boolean sameSettings(int max, boolean adaptive) {
    return this.max == max && this.adaptive == adaptive;
  }

  /**
   * A permit that gives {@code release} back the first time only: a response that ends twice (an
   * end and then a reset) must not free a second place.
   */
  static Permit releasedOnce(Permit release) {
    boolean[] released = {false};
    return ok -> {
      if (!released[0]) {
        released[0] = true;
        release.release(ok);
      }
    };
  }

  /** The fixed cap: the gateway-wide {@link InFlightCap}, per endpoint. */
  static final class Fixed extends ConcurrencyLimiter {
    private final InFlightCap cap;

    Fixed(int max) {
      super(max, false);
      this.cap = new InFlightCap(max);
    }

    @Override
    public @Nullable Permit tryAcquire() {
      return cap.tryTake() ? releasedOnce(ok -> cap.release()) : null;
    }

    @Override
    public int limit() {
      return max;
    }

    @Override
    public int inFlight() {
      return cap.used();
    }
  }

  static final class Adaptive extends ConcurrencyLimiter {
    private final Gradient2Limit limit;
    private final SimpleLimiter<Void> limiter;

    Adaptive(int max) {
      super(max, true);
      this.limit =
          Gradient2Limit.newBuilder().initialLimit(max).minLimit(1).maxConcurrency(max).build();
      this.limiter = SimpleLimiter.newBuilder().limit(limit).build();
    }

    @Override
    public @Nullable Permit tryAcquire() {
      Optional<Limiter.Listener> listener = limiter.acquire(null);
      if (listener.isEmpty()) {
        return null;
      }
      Limiter.Listener l = listener.get();
      return releasedOnce(
          ok -> {
            if (ok) {
              l.onSuccess();
            } else {
              l.onIgnore();
            }
          });
    }

    @Override
    public int limit() {
      return limiter.getLimit();
    }

    @Override
    public int inFlight() {
      return limiter.getInflight();
    }
  }
}
