package io.sagegate.demo;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The built-in demo model: a real HTTP server speaking the SageMaker container contract, so the
 * gateway can be tried end to end with no AWS account and no model. One instance serves one demo
 * endpoint (the container contract does not tell a container which endpoint it serves).
 *
 * <ul>
 *   <li>{@code GET /ping}: 200 {@code {"status":"ok"}}.
 *   <li>{@code POST /invocations} with {@code {"text":"..."}}: a deterministic sentiment from a
 *       tiny word lexicon, {@code {"endpoint","model","label","score","tokens"}}. With {@code
 *       "stream":true}, chunked JSON lines, one per word, then the result with {@code "done":true}.
 *   <li>The {@code X-Amzn-SageMaker-Custom-Attributes} header is echoed back.
 *   <li>A body that is not a JSON object with a string {@code text}: 400 {@code {"error":...}}.
 *   <li>Other paths 404, other methods 405, each with a JSON error body.
 * </ul>
 */
public final class DemoModelServer {

  public static final String MODEL = "sagegate-demo";
  public static final String CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes";
  /** The container contract's payload limit (SageMaker's 6 MiB). */
  public static final long MAX_BODY_BYTES = 6L * 1024 * 1024;
  /** The pause between streamed words: the demo's imitation of a model generating. */
  public static final long STREAM_PAUSE_MS = 10;

  private static final Set<String> POSITIVE = Set.of(
      "good", "great", "excellent", "love", "loved", "amazing", "happy", "fantastic", "wonderful",
      "best", "nice", "perfect", "like", "awesome", "recommend", "fast", "reliable", "legit");
  private static final Set<String> NEGATIVE = Set.of(
      "bad", "terrible", "awful", "hate", "hated", "poor", "worst", "horrible", "broken", "sad",
      "slow", "disappointing", "fraud", "scam", "refund", "stolen", "suspicious", "unauthorized");

  private final Vertx vertx;
  private final String endpointName;
  private final HttpServer server;
  private final String urlHost;

  private DemoModelServer(Vertx vertx, String endpointName, HttpServer server, String urlHost) {
    this.vertx = vertx;
    this.endpointName = endpointName;
    this.server = server;
    this.urlHost = urlHost;
  }

  /**
   * Starts a demo model server for {@code endpointName} on {@code host}:{@code port} (port 0
   * picks a free one).
   */
  public static Future<DemoModelServer> start(Vertx vertx, String endpointName, String host, int port) {
    Objects.requireNonNull(vertx, "vertx");
    if (endpointName == null || endpointName.isBlank()) {
      return Future.failedFuture(new IllegalArgumentException("endpointName is required"));
    }
    if (host == null || host.isBlank()) {
      return Future.failedFuture(new IllegalArgumentException("host is required"));
    }
    if (port < 0 || port > 65535) {
      return Future.failedFuture(new IllegalArgumentException("port must be 0 to 65535, got " + port));
    }
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port));
    String urlHost = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
    DemoModelServer demo = new DemoModelServer(vertx, endpointName, server, urlHost);
    server.requestHandler(demo.router());
    return server.listen().map(s -> demo);
  }

  /** The container's root, e.g. {@code http://127.0.0.1:41234}. */
  /**
   * The base URL under which this server answers as the model of {@code endpointName}: one demo
   * server can stand behind any number of endpoints, added by a reload too.
   */
  public URI url(String endpointName) {
    return URI.create(url().toString().replaceAll("/$", "") + "/models/" + endpointName);
  }

  public URI url() {
    String h = urlHost.contains(":") ? "[" + urlHost + "]" : urlHost;
    return URI.create("http://" + h + ":" + port());
  }

  public int port() {
    return server.actualPort();
  }

  public Future<Void> close() {
    return server.close();
  }

  private Router router() {
    Router router = Router.router(vertx);
    for (String prefix : new String[] {"", "/models/:endpoint"}) {
      router.get(prefix + "/ping").handler(ctx -> json(ctx.response(), 200, new JsonObject().put("status", "ok")));
      router.post(prefix + "/invocations")
          .handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES))
          .handler(this::invocations);
    }
    router.errorHandler(404, ctx -> error(ctx, 404, "no such path: " + ctx.request().path()));
    router.errorHandler(405, ctx -> error(ctx, 405, "method " + ctx.request().method() + " is not allowed on "
        + ctx.request().path()));
    router.errorHandler(413, ctx -> error(ctx, 413, "body exceeds " + MAX_BODY_BYTES + " bytes"));
    router.errorHandler(500, ctx -> error(ctx, 500, "demo model failed"));
    return router;
  }

  private void invocations(RoutingContext ctx) {
    String endpointName = ctx.pathParam("endpoint") != null ? ctx.pathParam("endpoint") : this.endpointName;
    Buffer body = ctx.body().buffer();
    JsonObject input;
    try {
      input = body == null || body.length() == 0 ? null : body.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      input = null;
    }
    if (input == null) {
      error(ctx, 400, "body must be a JSON object like {\"text\":\"...\"}");
      return;
    }
    if (!(input.getValue("text") instanceof String text)) {
      error(ctx, 400, "field \"text\" must be a string");
      return;
    }
    HttpServerResponse resp = ctx.response();
    String attributes = ctx.request().getHeader(CUSTOM_ATTRIBUTES);
    if (attributes != null) {
      resp.putHeader(CUSTOM_ATTRIBUTES, attributes);
    }
    List<String> words = words(text);
    JsonObject result = classify(words);
    if (Boolean.TRUE.equals(input.getValue("stream"))) {
      stream(resp, words, result.copy().put("endpoint", endpointName));
    } else {
      json(resp, 200, new JsonObject()
          .put("endpoint", endpointName)
          .put("model", MODEL)
          .mergeIn(result));
    }
  }

  private void stream(HttpServerResponse resp, List<String> words, JsonObject result) {
    resp.setChunked(true).putHeader(HttpHeaders.CONTENT_TYPE, "application/jsonlines");
    resp.setStatusCode(200);
    writeWord(resp, words, 0, result.copy().put("done", true));
  }

  private void writeWord(HttpServerResponse resp, List<String> words, int i, JsonObject last) {
    if (resp.closed()) {
      return; // the client went away
    }
    if (i == words.size()) {
      resp.end(last.encode() + "\n");
      return;
    }
    resp.write(new JsonObject().put("token", words.get(i)).put("index", i).encode() + "\n");
    vertx.setTimer(STREAM_PAUSE_MS, id -> writeWord(resp, words, i + 1, last));
  }

  /** The words of {@code text}: runs of letters, digits and apostrophes, as written. */
  static List<String> words(String text) {
    List<String> out = new ArrayList<>();
    for (String w : text.split("[^\\p{L}\\p{N}']+")) {
      if (!w.isEmpty()) {
        out.add(w);
      }
    }
    return out;
  }

  /** The lexicon's verdict: the label, a score in [0.5, 1.0] rounded to 2 places, the word count. */
  static JsonObject classify(List<String> words) {
    int pos = 0;
    int neg = 0;
    for (String w : words) {
      String lower = w.toLowerCase(Locale.ROOT);
      if (POSITIVE.contains(lower)) {
        pos++;
      } else if (NEGATIVE.contains(lower)) {
        neg++;
      }
    }
    String label = pos > neg ? "POSITIVE" : neg > pos ? "NEGATIVE" : "NEUTRAL";
    double score = 0.5 + 0.5 * Math.abs(pos - neg) / (pos + neg + 1.0);
    score = Math.round(score * 100) / 100.0;
    return new JsonObject().put("label", label).put("score", score).put("tokens", words.size());
  }

  private static void error(RoutingContext ctx, int status, String message) {
    json(ctx.response(), status, new JsonObject().put("error", message));
  }

  private static void json(HttpServerResponse resp, int status, JsonObject body) {
    if (resp.headWritten()) {
      return;
    }
    resp.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json").end(body.encode());
  }
}
