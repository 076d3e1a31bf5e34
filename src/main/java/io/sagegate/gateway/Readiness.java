package io.sagegate.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.jspecify.annotations.Nullable;

/**
 * What {@code /readyz} answers: a small list of contributors, each of which says the gateway is
 * ready or gives the reason it is not (configuration loaded, token keys loaded, the audit sink
 * writing, not draining). The gateway is ready when none gives a reason; {@code /readyz} then
 * answers 200, else 503 with every reason in its body.
 */
public final class Readiness {

  /** One part of readiness. */
  @FunctionalInterface
  public interface Contributor {
    /** Null while this part is ready; else a short reason, for {@code /readyz} and the log. */
    @Nullable String notReadyReason();
  }

  private final List<Contributor> contributors = new CopyOnWriteArrayList<>();

  /** Adds a contributor; it is asked on every {@code /readyz}. */
  public void add(Contributor contributor) {
    contributors.add(contributor);
  }

  /**
   * The reasons the gateway is not ready, in the order the contributors were added; empty when
   * ready.
   */
  public List<String> reasons() {
    List<String> reasons = new ArrayList<>();
    for (Contributor c : contributors) {
      String reason;
      try {
        reason = c.notReadyReason();
      } catch (RuntimeException e) {
        reason = "readiness check failed: " + e;
      }
      if (reason != null) {
        reasons.add(reason);
      }
    }
    return reasons;
  }

  public boolean ready() {
    return reasons().isEmpty();
  }
}
