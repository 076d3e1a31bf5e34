package io.sagegate.logging;

import ch.qos.logback.core.status.Status;
import ch.qos.logback.core.status.StatusListener;

/**
 * Logback's own warnings and errors (a bad level in SAGEGATE_LOG_LEVEL, say) go to stderr. Without
 * a listener logback prints them to stdout, which carries only audit records and command output (a
 * token from {@code sagegate token}).
 */
public final class StderrStatusListener implements StatusListener {

  @Override
  public void addStatusEvent(Status status) {
    if (status.getEffectiveLevel() >= Status.WARN) {
      System.err.println("logging: " + status.getMessage());
    }
  }
}
