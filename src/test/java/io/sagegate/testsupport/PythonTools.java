package io.sagegate.testsupport;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * The tests that run python3 (moto_server as the AWS emulator, boto3 and botocore as independent
 * clients) need python3 with boto3 and {@code moto[server]} 5.2.1. They call {@link #require}
 * first, so a machine without them fails with what to install, not with a broken pipe. CI installs
 * them ({@code .ci/python-deps.sh}); the README lists them under "Test".
 */
public final class PythonTools {

  public static final String INSTALL =
      "these tests need python3 with boto3 and moto[server] 5.2.1: run .ci/python-deps.sh"
          + " (or: pip install boto3 'moto[server]==5.2.1' pytest)";

  private static volatile String missing;
  private static volatile boolean checked;

  private PythonTools() {}

  /**
   * Fails the calling test, naming what to install, unless python3 can import boto3 and
   * moto.server.
   */
  public static void require() {
    if (!checked) {
      missing = probe();
      checked = true;
    }
    if (missing != null) {
      throw new AssertionError(INSTALL + " (" + missing + ")");
    }
  }

  private static String probe() {
    try {
      Process p =
          new ProcessBuilder("python3", "-c", "import boto3, botocore, moto.server")
              .redirectErrorStream(true)
              .start();
      byte[] out = p.getInputStream().readAllBytes();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return "python3 did not answer within 60 s";
      }
      return p.exitValue() == 0
          ? null
          : new String(out, java.nio.charset.StandardCharsets.UTF_8).strip();
    } catch (IOException e) {
      return "python3 is not on PATH: " + e.getMessage();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "interrupted";
    }
  }
}
