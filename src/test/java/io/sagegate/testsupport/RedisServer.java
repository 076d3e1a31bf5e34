package io.sagegate.testsupport;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A real {@code redis-server} (Debian's {@code redis-server} package) on a free port with
 * persistence off, for tests; it can be stopped and started again on the same port. Tests call
 * {@link #available()} first and skip, saying why, when the binary is absent ({@code .ci/run}
 * installs it).
 */
public final class RedisServer implements AutoCloseable {

  private static final Duration START_WAIT = Duration.ofSeconds(15);

  private final String binary;
  private final int port;
  private Process process;

  private RedisServer(String binary, int port) {
    this.binary = binary;
    this.port = port;
  }

  /** The redis-server binary, or null when it is not installed. */
  public static String binary() {
    for (String dir : List.of("/usr/bin", "/usr/local/bin", "/usr/sbin")) {
      Path p = Path.of(dir, "redis-server");
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    String path = System.getenv("PATH");
    if (path != null) {
      for (String dir : path.split(":")) {
        Path p = Path.of(dir, "redis-server");
        if (Files.isExecutable(p)) {
          return p.toString();
        }
      }
    }
    return null;
  }

  public static boolean available() {
    return binary() != null;
  }

  public static final String MISSING =
      "redis-server is not installed (apt-get install -y redis-server;"
          + " .ci/run installs it): the Redis-backed limit tests are skipped";

  /** Starts a server on a free port. */
  public static RedisServer start() throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    RedisServer server = new RedisServer(binary(), port);
    server.startAgain();
    return server;
  }

  public int port() {
    return port;
  }

  public String url() {
    return "redis://127.0.0.1:" + port;
  }

  /** Starts the server (again, after {@link #stop()}), on the same port; waits until it answers. */
  public void startAgain() throws IOException {
    process =
        new ProcessBuilder(
                binary,
                "--port",
                Integer.toString(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "no")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    long deadline = System.nanoTime() + START_WAIT.toNanos();
    IOException last = null;
    while (System.nanoTime() < deadline) {
      try {
        if ("+PONG".equals(command("PING"))) {
          return;
        }
      } catch (IOException e) {
        last = e;
      }
      try {
        Thread.sleep(20); // polling a starting process, bounded by START_WAIT
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    throw new IOException(
        "redis-server did not answer on port " + port + " within " + START_WAIT, last);
  }

  /** Stops the server and waits until it has exited. */
  public void stop() throws InterruptedException {
    if (process != null) {
      process.destroy();
      if (!process.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, java.util.concurrent.TimeUnit.SECONDS);
      }
      process = null;
    }
  }

  /** Freezes the server (SIGSTOP): connections stay open, nothing answers. */
  public void pause() throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-STOP", Long.toString(process.pid())).start().waitFor();
  }

  /** Lets a paused server run again (SIGCONT). */
  public void resume() throws IOException, InterruptedException {
    new ProcessBuilder("kill", "-CONT", Long.toString(process.pid())).start().waitFor();
  }

  /** Sends one command (inline, words without spaces) and returns the first line of the answer. */
  public String command(String... words) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(5000);
      StringBuilder b = new StringBuilder("*").append(words.length).append("\r\n");
      for (String w : words) {
        b.append('$')
            .append(w.getBytes(StandardCharsets.UTF_8).length)
            .append("\r\n")
            .append(w)
            .append("\r\n");
      }
      OutputStream out = s.getOutputStream();
      out.write(b.toString().getBytes(StandardCharsets.UTF_8));
      out.flush();
      InputStream in = s.getInputStream();
      StringBuilder line = new StringBuilder();
      int c;
      while ((c = in.read()) >= 0 && c != '\n') {
        if (c != '\r') {
          line.append((char) c);
        }
      }
      return line.toString();
    }
  }

  /** The number of keys in the database. */
  public long keys() throws IOException {
    String answer = command("DBSIZE");
    return Long.parseLong(answer.substring(1));
  }

  @Override
  public void close() throws InterruptedException {
    stop();
  }
}
