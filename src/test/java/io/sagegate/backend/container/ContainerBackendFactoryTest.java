package io.sagegate.backend.container;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sagegate.backend.Backend;
import io.sagegate.config.BackendConfig;
import io.sagegate.config.EndpointConfig;
import io.sagegate.demo.DemoModelServer;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
class ContainerBackendFactoryTest {

  private static EndpointConfig endpoint(String type, String url) {
    return new EndpointConfig(
        "ep-1", Map.of(), new BackendConfig(type, url, null, null, 0, null, null, null));
  }

  @Test
  void containerWithoutUrlIsRefusedNamingTheField(Vertx vertx) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new ContainerBackendFactory(vertx).create(endpoint(BackendConfig.CONTAINER, null)));
    assertTrue(e.getMessage().contains("endpoints[ep-1].backend.url"), e.getMessage());
  }

  @Test
  void containerWithBadUrlIsRefused(Vertx vertx) {
    for (String bad : new String[] {"ftp://x:1", "not a url", "http:///nohost", "localhost:8080"}) {
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class,
              () ->
                  new ContainerBackendFactory(vertx).create(endpoint(BackendConfig.CONTAINER, bad)),
              bad);
      assertTrue(e.getMessage().contains("backend.url"), e.getMessage());
    }
  }

  @Test
  void otherTypesAreNotServed(Vertx vertx) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new ContainerBackendFactory(vertx).create(endpoint(BackendConfig.SAGEMAKER, null)));
    assertTrue(e.getMessage().contains("sagemaker"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> new ContainerBackendFactory(vertx).create(endpoint(BackendConfig.DEMO, null)),
        "demo needs the demo URLs");
  }

  @Test
  void demoEndpointIsServedByItsDemoServer(Vertx vertx, VertxTestContext t) {
    DemoModelServer.start(vertx, "ep-1", "127.0.0.1", 0)
        .onComplete(
            t.succeeding(
                demo -> {
                  Backend backend =
                      new ContainerBackendFactory(vertx, ep -> demo.url())
                          .create(endpoint(BackendConfig.DEMO, null));
                  ((ContainerBackend) backend)
                      .checkHealth()
                      .eventually(backend::close)
                      .eventually(demo::close)
                      .onComplete(
                          t.succeeding(
                              ok ->
                                  t.verify(
                                      () -> {
                                        assertEquals(true, ok);
                                        t.completeNow();
                                      })));
                }));
  }

  @Test
  void containerEndpointIsServedAtItsUrl(Vertx vertx, VertxTestContext t) {
    DemoModelServer.start(vertx, "ep-1", "127.0.0.1", 0)
        .onComplete(
            t.succeeding(
                demo -> {
                  Backend backend =
                      new ContainerBackendFactory(vertx)
                          .create(endpoint(BackendConfig.CONTAINER, demo.url() + "/"));
                  ((ContainerBackend) backend)
                      .checkHealth()
                      .eventually(backend::close)
                      .eventually(demo::close)
                      .onComplete(
                          t.succeeding(
                              ok ->
                                  t.verify(
                                      () -> {
                                        assertEquals(true, ok);
                                        t.completeNow();
                                      })));
                }));
  }
}
