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
import org.jspecify.annotations.Nullable;

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
 *   <li>{@code POST /v1/chat/completions} (OpenAI chat completions, as vLLM serves them): the
 *       sentiment of the last user message as the assistant's reply, with {@code usage} (words as
 *       tokens); with {@code "stream":true} server-sent events, one chunk per word, the usage chunk
 *       when {@code stream_options.include_usage} asks, then {@code data: [DONE]}. A body without
 *       {@code messages}: 400 in OpenAI's error envelope.
 *   <li>Other paths 404, other methods 405, each with a JSON error body.
 * </ul>
 */
public final class DemoModelServer {

  public static final String MODEL = "sagegate-demo";
  public static final String CUSTOM_ATTRIBUTES = "X-Amzn-SageMaker-Custom-Attributes";

  /** The container contract's payload limit (SageMaker's 6 MiB). */
  public static final long MAX_BODY_BYTES = 6L * 1024 * 1024;

  /**
   * The pause between streamed words: the demo's imitation of a model generating, long enough that
   * a stream relayed as it comes is told apart from one buffered, even on a loaded machine.
   */
  public static final long STREAM_PAUSE_MS = 25;

  private static final Set<String> POSITIVE =
      Set.of(
          "good",
          "great",
          "excellent",
          "love",
          "loved",
          "amazing",
          "happy",
          "fantastic",
          "wonderful",
          "best",
          "nice",
          "perfect",
          "like",
          "awesome",
          "recommend",
          "fast",
          "reliable",
          "legit");
  private static final Set<String> NEGATIVE =
      Set.of(
          "bad",
          "terrible",
          "awful",
          "hate",
          "hated",
          "poor",
          "worst",
          "horrible",
          "broken",
          "sad",
          "slow",
          "disappointing",
          "fraud",
          "scam",
          "refund",
          "stolen",
          "suspicious",
          "unauthorized");

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
   * Starts a demo model server for {@code endpointName} on {@code host}:{@code port} (port 0 picks
   * a free one).
   */
  public static Future<DemoModelServer> start(
      Vertx vertx, String endpointName, String host, int port) {
    Objects.requireNonNull(vertx, "vertx");
    if (endpointName == null || endpointName.isBlank()) {
      return Future.failedFuture(new IllegalArgumentException("endpointName is required"));
    }
    if (host == null || host.isBlank()) {
      return Future.failedFuture(new IllegalArgumentException("host is required"));
    }
    if (port < 0 || port > 65535) {
      return Future.failedFuture(
          new IllegalArgumentException("port must be 0 to 65535, got " + port));
    }
    HttpServer server = vertx.createHttpServer(new HttpServerOptions().setHost(host).setPort(port));
    String urlHost = host.equals("0.0.0.0") || host.equals("::") ? "127.0.0.1" : host;
    DemoModelServer demo = new DemoModelServer(vertx, endpointName, server, urlHost);
    server.requestHandler(demo.router());
    return server.listen().map(s -> demo);
  }

  /**
   * The base URL under which this server answers as the model of {@code endpointName}: one demo
   * server can stand behind any number of endpoints, added by a reload too.
   */
  public URI url(String endpointName) {
    return URI.create(url().toString().replaceAll("/$", "") + "/models/" + endpointName);
  }

  /** The container's root, e.g. {@code http://127.0.0.1:41234}. */
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
      router
          .get(prefix + "/ping")
          .handler(ctx -> json(ctx.response(), 200, new JsonObject().put("status", "ok")));
      router
          .post(prefix + "/invocations")
          .handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES))
          .handler(this::invocations);
      router
          .post(prefix + "/v1/chat/completions")
          .handler(BodyHandler.create(false).setBodyLimit(MAX_BODY_BYTES))
          .handler(this::chatCompletions);
    }
    router.errorHandler(404, ctx -> error(ctx, 404, "no such path: " + ctx.request().path()));
    router.errorHandler(
        405,
        ctx ->
            error(
                ctx,
                405,
                "method " + ctx.request().method() + " is not allowed on " + ctx.request().path()));
    router.errorHandler(413, ctx -> error(ctx, 413, "body exceeds " + MAX_BODY_BYTES + " bytes"));
    router.errorHandler(500, ctx -> error(ctx, 500, "demo model failed"));
    return router;
  }

  private void invocations(RoutingContext ctx) {
    String endpointName =
        ctx.pathParam("endpoint") != null ? ctx.pathParam("endpoint") : this.endpointName;
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
      json(
          resp,
          200,
          new JsonObject().put("endpoint", endpointName).put("model", MODEL).mergeIn(result));
    }
  }

  private void chatCompletions(RoutingContext ctx) {
    JsonObject input;
    try {
      Buffer body = ctx.body().buffer();
      input = body == null || body.length() == 0 ? null : body.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      input = null;
    }
    if (input == null) {
      openAiError(ctx.response(), 400, "body must be a JSON object (a chat completion request)");
      return;
    }
    if (!(input.getValue("messages") instanceof io.vertx.core.json.JsonArray messages)
        || messages.isEmpty()) {
      openAiError(ctx.response(), 400, "field \"messages\" must be a non-empty array");
      return;
    }
    String last = "";
    int promptTokens = 0;
    for (Object m : messages) {
      if (!(m instanceof JsonObject message)
          || !(message.getValue("content") instanceof String content)) {
        openAiError(
            ctx.response(), 400, "each message must be an object with a string \"content\"");
        return;
      }
      promptTokens += words(content).size();
      if ("user".equals(message.getString("role"))) {
        last = content;
      }
    }
    String model = input.getValue("model") instanceof String m ? m : MODEL;
    JsonObject verdict = classify(words(last));
    String reply =
        "Sentiment: " + verdict.getString("label") + " (score " + verdict.getDouble("score") + ")";
    List<String> replyWords = List.of(reply.split(" "));
    JsonObject usage =
        new JsonObject()
            .put("prompt_tokens", promptTokens)
            .put("completion_tokens", replyWords.size())
            .put("total_tokens", promptTokens + replyWords.size());
    String id = "chatcmpl-demo-" + Integer.toHexString(last.hashCode());
    HttpServerResponse resp = ctx.response();
    if (Boolean.TRUE.equals(input.getValue("stream"))) {
      JsonObject options =
          input.getValue("stream_options") instanceof JsonObject o ? o : new JsonObject();
      boolean includeUsage = Boolean.TRUE.equals(options.getValue("include_usage"));
      resp.setChunked(true)
          .setStatusCode(200)
          .putHeader(HttpHeaders.CONTENT_TYPE, "text/event-stream")
          .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache");
      JsonObject head =
          chunk(id, model, new JsonObject().put("role", "assistant").put("content", ""), null);
      resp.write(sse(head));
      writeChatWord(resp, id, model, replyWords, 0, includeUsage ? usage : null);
      return;
    }
    json(
        resp,
        200,
        completion("chat.completion", id, model)
            .put(
                "choices",
                oneChoice(
                    "message",
                    new JsonObject().put("role", "assistant").put("content", reply),
                    "stop"))
            .put("usage", usage));
  }

  private void writeChatWord(
      HttpServerResponse resp,
      String id,
      String model,
      List<String> words,
      int i,
      @Nullable JsonObject usage) {
    if (resp.closed()) {
      return;
    }
    if (i == words.size()) {
      StringBuilder tail = new StringBuilder(sse(chunk(id, model, new JsonObject(), "stop")));
      if (usage != null) {
        tail.append(
            sse(
                completion("chat.completion.chunk", id, model)
                    .put("choices", new io.vertx.core.json.JsonArray())
                    .put("usage", usage)));
      }
      resp.end(tail.append("data: [DONE]\n\n").toString());
      return;
    }
    String piece = i == 0 ? words.get(i) : " " + words.get(i);
    resp.write(sse(chunk(id, model, new JsonObject().put("content", piece), null)));
    vertx.setTimer(STREAM_PAUSE_MS, t -> writeChatWord(resp, id, model, words, i + 1, usage));
  }

  private static JsonObject chunk(
      String id, String model, JsonObject delta, @Nullable String finishReason) {
    return completion("chat.completion.chunk", id, model)
        .put("choices", oneChoice("delta", delta, finishReason));
  }

  /**
   * The fields an answer and each of its stream chunks open with, in OpenAI's order; {@code
   * created} is 0, so the demo's answers are the same on every run.
   */
  private static JsonObject completion(String object, String id, String model) {
    return new JsonObject()
        .put("id", id)
        .put("object", object)
        .put("created", 0)
        .put("model", model);
  }

  /**
   * The one choice the demo answers with, at index 0: {@code key} is message in an answer, delta in
   * a stream chunk.
   */
  private static io.vertx.core.json.JsonArray oneChoice(
      String key, JsonObject value, @Nullable String finishReason) {
    return new io.vertx.core.json.JsonArray()
        .add(new JsonObject().put("index", 0).put(key, value).put("finish_reason", finishReason));
  }

  private static String sse(JsonObject data) {
    return "data: " + data.encode() + "\n\n";
  }

  private static void openAiError(HttpServerResponse resp, int status, String message) {
    json(
        resp,
        status,
        new JsonObject()
            .put(
                "error",
                new JsonObject()
                    .put("message", message)
                    .put("type", "invalid_request_error")
                    .putNull("code")));
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

  /**
   * The lexicon's verdict: the label, a score in [0.5, 1.0] rounded to 2 places, the word count.
   */
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
    resp.setStatusCode(status)
        .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
        .end(body.encode());
  }
}
