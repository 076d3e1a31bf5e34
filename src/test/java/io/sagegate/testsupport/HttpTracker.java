package io.sagegate.testsupport;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.metrics.MetricsOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.spi.metrics.HttpClientMetrics;
import io.vertx.core.spi.metrics.HttpServerMetrics;
import io.vertx.core.spi.metrics.VertxMetrics;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Sees every Vert.x HTTP client and server a Vert.x instance creates and closes, through Vert.x's
 * own metrics SPI (no class of ours is replaced): their metrics are closed when they are. So a test
 * can prove that the clients (connection pools) or servers some step created were closed.
 */
public final class HttpTracker {

  /** One HTTP client: the options it was made with, and whether it has been closed. */
  public record Client(HttpClientOptions options, Promise<Void> closed) {
    public boolean isClosed() {
      return closed.future().isComplete();
    }
  }

  /** One HTTP server: where it listens, and whether it has been closed. */
  public record Server(SocketAddress address, Promise<Void> closed) {
    public boolean isClosed() {
      return closed.future().isComplete();
    }
  }

  private final List<Client> clients = new CopyOnWriteArrayList<>();
  private final List<Server> servers = new CopyOnWriteArrayList<>();

  /** A Vert.x instance whose HTTP clients and servers this tracker sees. */
  public Vertx vertx() {
    return Vertx.builder()
        .with(new VertxOptions().setMetricsOptions(new MetricsOptions().setEnabled(true)))
        .withMetrics(
            options ->
                new VertxMetrics() {
                  @Override
                  public HttpClientMetrics<?, ?, ?> createHttpClientMetrics(
                      HttpClientOptions clientOptions) {
                    Client client =
                        new Client(new HttpClientOptions(clientOptions), Promise.promise());
                    clients.add(client);
                    return new HttpClientMetrics<Object, Object, Object>() {
                      @Override
                      public void close() {
                        client.closed().tryComplete();
                      }
                    };
                  }

                  @Override
                  public HttpServerMetrics<?, ?, ?> createHttpServerMetrics(
                      HttpServerOptions serverOptions, SocketAddress localAddress) {
                    Server server = new Server(localAddress, Promise.promise());
                    servers.add(server);
                    return new HttpServerMetrics<Object, Object, Object>() {
                      @Override
                      public void close() {
                        server.closed().tryComplete();
                      }
                    };
                  }
                })
        .build();
  }

  /** How many clients were created so far (a mark for {@link #createdSince}). */
  public int created() {
    return clients.size();
  }

  /** The clients created after {@code mark}, in order. */
  public List<Client> createdSince(int mark) {
    return List.copyOf(clients.subList(mark, clients.size()));
  }

  /** Every HTTP server created so far, in order. */
  public List<Server> servers() {
    return List.copyOf(servers);
  }

  /** Completes once every client created after {@code mark} is closed. */
  public Future<Void> allClosedSince(int mark) {
    return Future.all(createdSince(mark).stream().map(c -> c.closed().future()).toList())
        .mapEmpty();
  }
}
