package io.sagegate.testsupport.aws;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagegate.backend.SageMakerHeaders;
import io.sagegate.eventstream.EventStreamFrames;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A focused AWS emulator for the gateway's {@code sagemaker} backend: one real HTTP server that is
 * both a minimal STS ({@code AssumeRole}, query protocol, XML answers) and SageMaker Runtime
 * ({@code InvokeEndpoint}, {@code InvokeEndpointWithResponseStream}, {@code InvokeEndpointAsync}).
 * It exists for what moto does not do: it checks every SigV4 signature (with {@link SigV4Verifier},
 * independent of the SDK signer), evaluates the role's permissions intersected with the AssumeRole
 * session policy, speaks the event-stream response, and lets a test script faults and release
 * stream parts one at a time.
 *
 * <p>Point the gateway's STS endpoint and SageMaker Runtime endpoint at {@link #uri()}.
 *
 * <p>Configuration methods may be called from any thread; the server runs on its own context.
 */
public final class SageMakerEmulator implements AutoCloseable {

  public static final String DEFAULT_REGION = "us-east-1";
  public static final String DEFAULT_ACCOUNT = "123456789012";

  /** AssumeRole's limit on the inline session policy, in characters. */
  public static final int MAX_POLICY_CHARS = 2048;

  /** AssumeRole's limit on session tags. */
  public static final int MAX_SESSION_TAGS = 50;

  public static final Duration DEFAULT_MAX_SESSION_DURATION = Duration.ofHours(1);
  public static final String DEFAULT_VARIANT = "AllTraffic";

  /** Operation names as recorded. */
  public static final String ASSUME_ROLE = "AssumeRole";

  public static final String INVOKE = "InvokeEndpoint";
  public static final String INVOKE_STREAM = "InvokeEndpointWithResponseStream";
  public static final String INVOKE_ASYNC = "InvokeEndpointAsync";

  /** A chat completion on the OpenAI-compatible path (bearer token, not SigV4). */
  public static final String OPENAI_CHAT = "OpenAiChatCompletions";

  /** AWS's message for an unknown access key or a session token that does not match it. */
  private static final String INVALID_TOKEN =
      "The security token included in the request is invalid.";

  /** What an endpoint does with an authorised request. */
  public enum Behaviour {
    /** 200 (202 for async) with a JSON body naming the endpoint; streams write their parts. */
    OK,
    /** 424 ModelError with OriginalStatusCode, OriginalMessage, LogStreamArn, Message. */
    MODEL_ERROR,
    /** 503 ServiceUnavailable. */
    SERVICE_UNAVAILABLE,
    /** 429 ModelNotReadyException. */
    MODEL_NOT_READY,
    /** 500 InternalFailure. */
    INTERNAL_FAILURE,
    /** Never answers (the request is recorded with status 0). */
    HANG,
    /** Sends a 200 head and the start of a body, then nothing more (the body never ends). */
    STALL_BODY,
    /** 200 with junk: not JSON, and for the stream API not event-stream frames either. */
    GARBAGE,
    /**
     * 400 saying the model has no capacity (as reported of an inference component scaled to zero,
     * which that call starts scaling up).
     */
    NO_CAPACITY,
    /**
     * A slow answer that never finishes: a 200 head, then one byte of the body every 100 ms, so a
     * connection idle timeout never fires and only a whole-call deadline ends the call.
     */
    TRICKLE
  }

  /**
   * A role the emulator's STS can issue sessions for.
   *
   * @param arn {@code arn:aws:iam::ACCOUNT:role/NAME}
   * @param trustedAccessKeys base access keys allowed to assume it (its trust policy)
   * @param externalId the ExternalId the trust policy requires, or null for none
   * @param permissions the role's identity-based permission policy
   * @param maxSessionDuration the role's MaxSessionDuration
   */
  public record Role(
      String arn,
      Set<String> trustedAccessKeys,
      String externalId,
      IamPolicy permissions,
      Duration maxSessionDuration) {
    public Role {
      Objects.requireNonNull(arn, "arn");
      if (!ROLE_ARN.matcher(arn).matches()) {
        throw new IllegalArgumentException(
            "arn must be arn:aws:iam::ACCOUNT:role/NAME, was " + arn);
      }
      trustedAccessKeys =
          Set.copyOf(Objects.requireNonNull(trustedAccessKeys, "trustedAccessKeys"));
      Objects.requireNonNull(permissions, "permissions");
      Objects.requireNonNull(maxSessionDuration, "maxSessionDuration");
    }

    /**
     * A role trusting {@code trustedAccessKey}, requiring {@code externalId} (null: none), that
     * allows {@code actions} (e.g. {@code sagemaker:InvokeEndpoint*}) on {@code resourceGlobs}
     * (e.g. {@code arn:aws:sagemaker:us-east-1:123456789012:endpoint/*}).
     */
    public static Role allowing(
        String arn,
        String trustedAccessKey,
        String externalId,
        List<String> actions,
        List<String> resourceGlobs) {
      return new Role(
          arn,
          Set.of(trustedAccessKey),
          externalId,
          IamPolicy.allow(actions, resourceGlobs),
          DEFAULT_MAX_SESSION_DURATION);
    }

    String name() {
      return arn.substring(arn.indexOf(":role/") + 6).replaceAll(".*/", "");
    }
  }

  /** Temporary credentials issued by AssumeRole and what the emulator remembers about them. */
  public record Session(
      String accessKeyId,
      String secretAccessKey,
      String sessionToken,
      String roleArn,
      String roleSessionName,
      String assumedRoleArn,
      String sourceIdentity,
      String policy,
      Map<String, String> tags,
      List<String> transitiveTagKeys,
      String externalId,
      Instant expiration) {}

  /**
   * One request the emulator received and how it answered.
   *
   * @param operation {@link #ASSUME_ROLE}, {@link #INVOKE}, {@link #INVOKE_STREAM}, {@link
   *     #INVOKE_ASYNC}, or {@code Unknown}
   * @param endpointName the endpoint in the path, null for STS
   * @param headers request headers, names as received
   * @param body request body bytes
   * @param params STS form parameters (empty for SageMaker)
   * @param accessKeyId the signing access key, null if none could be read
   * @param roleArn session's role (STS: the RoleArn asked for), else null
   * @param sourceIdentity the session's SourceIdentity (STS: the one asked for), else null
   * @param sessionPolicy the session policy text (STS: the one asked for), else null
   * @param sessionTags the session tags (STS: the ones asked for), else empty
   * @param status the HTTP status answered; 0 for {@link Behaviour#HANG}
   * @param errorType the error code answered, null on success
   */
  public record RecordedRequest(
      String operation,
      String endpointName,
      Map<String, List<String>> headers,
      byte[] body,
      Map<String, String> params,
      String accessKeyId,
      String roleArn,
      String sourceIdentity,
      String sessionPolicy,
      Map<String, String> sessionTags,
      int status,
      String errorType) {

    /** First value of a header, case-insensitively, or null. */
    public String header(String name) {
      for (Map.Entry<String, List<String>> e : headers.entrySet()) {
        if (e.getKey().equalsIgnoreCase(name) && !e.getValue().isEmpty()) {
          return e.getValue().get(0);
        }
      }
      return null;
    }

    public String bodyText() {
      return new String(body, StandardCharsets.UTF_8);
    }
  }

  /** The scripted behaviour of one endpoint; obtain with {@link #endpoint(String)}. */
  public final class Endpoint {
    private final String name;
    private Behaviour behaviour = Behaviour.OK;
    private String variant = DEFAULT_VARIANT;
    private byte[] okBody;
    private String okContentType = "application/json";
    private int modelErrorStatus = 400;
    private String modelErrorMessage = "{\"error\":\"model rejected the input\"}";
    private List<byte[]> parts =
        List.of(
            "{\"token\":\"Hello\"}\n".getBytes(StandardCharsets.UTF_8),
            "{\"token\":\" world\"}\n".getBytes(StandardCharsets.UTF_8));
    private String streamErrorMessage;
    private String streamErrorCode;
    private boolean manualRelease;
    private int released;
    private long eventGapMillis = 10;
    private final Map<Integer, Promise<Void>> partWritten = new HashMap<>();
    private final List<StreamWriter> streams = new ArrayList<>();
    private int earlyCloses;
    private final Map<Integer, Promise<Void>> earlyCloseAwaited = new HashMap<>();

    private Endpoint(String name) {
      this.name = name;
    }

    public synchronized Endpoint behaviour(Behaviour behaviour) {
      this.behaviour = Objects.requireNonNull(behaviour, "behaviour");
      return this;
    }

    public synchronized Endpoint variant(String variant) {
      this.variant = Objects.requireNonNull(variant, "variant");
      return this;
    }

    /** Replaces the default OK body (JSON naming the endpoint). */
    public synchronized Endpoint okBody(byte[] body, String contentType) {
      this.okBody = Objects.requireNonNull(body, "body").clone();
      this.okContentType = Objects.requireNonNull(contentType, "contentType");
      return this;
    }

    /** What the "model" answered, reported in MODEL_ERROR's OriginalStatusCode/OriginalMessage. */
    public synchronized Endpoint modelError(int originalStatusCode, String originalMessage) {
      if (originalStatusCode < 400 || originalStatusCode > 599) {
        throw new IllegalArgumentException(
            "originalStatusCode must be 4xx or 5xx, was " + originalStatusCode);
      }
      this.modelErrorStatus = originalStatusCode;
      this.modelErrorMessage = Objects.requireNonNull(originalMessage, "originalMessage");
      return this;
    }

    /**
     * The pause between the server-sent events of a streamed chat completion (10 ms unless set): a
     * test that checks chunks arrive spread in time sets one well above a loaded machine's jitter.
     */
    public synchronized Endpoint eventGap(Duration gap) {
      if (gap.isNegative() || gap.isZero()) {
        throw new IllegalArgumentException("the event gap must be positive, was " + gap);
      }
      this.eventGapMillis = gap.toMillis();
      return this;
    }

    /** The PayloadPart payloads a response stream sends, in order. */
    public synchronized Endpoint streamParts(List<byte[]> parts) {
      this.parts = List.copyOf(parts.stream().map(byte[]::clone).toList());
      return this;
    }

    /** Same as {@link #streamParts(List)} with UTF-8 strings. */
    public Endpoint streamTextParts(String... parts) {
      List<byte[]> bytes = new ArrayList<>();
      for (String p : parts) {
        bytes.add(p.getBytes(StandardCharsets.UTF_8));
      }
      return streamParts(bytes);
    }

    /**
     * After the last part, send a ModelStreamError exception frame (errorCode e.g. {@code
     * ModelInvocationTimeExceeded}); null message: end normally.
     */
    public synchronized Endpoint endStreamWithModelError(String message, String errorCode) {
      this.streamErrorMessage = message;
      this.streamErrorCode = errorCode;
      return this;
    }

    /**
     * true: each part is written only when the test calls {@link #releaseNextPart()}; false
     * (default): all parts are written at once.
     */
    public synchronized Endpoint manualRelease(boolean manual) {
      this.manualRelease = manual;
      return this;
    }

    /**
     * Lets the next part go out on this endpoint's response streams (a release before any stream
     * opens is banked). Completes when some stream has written that part to its socket; fails if
     * all parts were already released.
     */
    public Future<Void> releaseNextPart() {
      Promise<Void> written;
      List<StreamWriter> active;
      synchronized (this) {
        if (released >= parts.size()) {
          return Future.failedFuture(
              new IllegalStateException(
                  "endpoint " + name + " has only " + parts.size() + " parts, all released"));
        }
        written = partWritten.computeIfAbsent(released, i -> Promise.promise());
        released++;
        active = List.copyOf(streams);
      }
      active.forEach(StreamWriter::pump);
      return written.future();
    }

    /**
     * Completes once {@code count} requests to this endpoint have had their connection closed by
     * the client before the emulator finished answering (a HANG the client gave up on, a response
     * stream the client cut off): how a test sees the gateway cancel upstream work.
     */
    public synchronized Future<Void> awaitEarlyCloses(int count) {
      if (earlyCloses >= count) {
        return Future.succeededFuture();
      }
      return earlyCloseAwaited.computeIfAbsent(count, i -> Promise.promise()).future();
    }

    /** How many requests to this endpoint the client abandoned before their answer ended. */
    synchronized long eventGapMillis() {
      return eventGapMillis;
    }

    public synchronized int earlyCloses() {
      return earlyCloses;
    }

    private synchronized void earlyClose() {
      earlyCloses++;
      Promise<Void> p = earlyCloseAwaited.remove(earlyCloses);
      if (p != null) {
        p.complete();
      }
    }

    /** How many parts have been released so far. */
    public synchronized int released() {
      return released;
    }

    private synchronized Behaviour behaviour() {
      return behaviour;
    }

    private synchronized String variantName() {
      return variant;
    }

    private synchronized int allowedParts() {
      return manualRelease ? released : parts.size();
    }

    private synchronized void partDone(int index, Throwable failure) {
      Promise<Void> p = partWritten.computeIfAbsent(index, i -> Promise.promise());
      if (failure == null) {
        p.tryComplete();
      } else {
        p.tryFail(failure);
      }
    }
  }

  /** Writes one response stream's parts as they are released, on the request's context. */
  private final class StreamWriter {
    private final Endpoint endpoint;
    private final HttpServerResponse response;
    private final Context context;
    private int next;
    private boolean ended;

    StreamWriter(Endpoint endpoint, HttpServerResponse response, Context context) {
      this.endpoint = endpoint;
      this.response = response;
      this.context = context;
    }

    /** On the context: no more writes (the stream ended or the client went away). */
    void stop() {
      ended = true;
      synchronized (endpoint) {
        endpoint.streams.remove(this);
      }
    }

    void pump() {
      context.runOnContext(
          v -> {
            if (ended) {
              return;
            }
            List<byte[]> parts;
            String errorMessage;
            String errorCode;
            int allowed;
            synchronized (endpoint) {
              parts = endpoint.parts;
              errorMessage = endpoint.streamErrorMessage;
              errorCode = endpoint.streamErrorCode;
              allowed = endpoint.allowedParts();
            }
            while (next < allowed && next < parts.size()) {
              int index = next++;
              response
                  .write(EventStreamFrames.payloadPart(parts.get(index)))
                  .onComplete(ar -> endpoint.partDone(index, ar.cause()));
            }
            if (next >= parts.size()) {
              stop();
              if (errorMessage != null) {
                response.write(EventStreamFrames.modelStreamError(errorMessage, errorCode));
              }
              response.end();
            }
          });
    }
  }

  private static final Pattern ROLE_ARN =
      Pattern.compile("arn:aws:iam::\\d{12}:role/[\\w+=,.@/-]+");
  private static final Pattern INVOKE_PATH =
      Pattern.compile(
          "/endpoints/([^/]+)/(invocations|invocations-response-stream|async-invocations)");
  private static final Pattern OPENAI_PATH =
      Pattern.compile(
          "/endpoints/([^/]+)(?:/inference-components/([^/]+))?/openai/v1/chat/completions");
  private static final Pattern ENDPOINT_NAME = Pattern.compile("[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}");
  private static final Pattern SESSION_NAME = Pattern.compile("[\\w+=,.@-]{2,64}");
  private static final Pattern SOURCE_IDENTITY = Pattern.compile("[\\w+=,.@-]{2,64}");
  private static final Pattern TAG_KEY = Pattern.compile("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]{1,128}");
  private static final Pattern TAG_VALUE = Pattern.compile("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]{0,256}");
  private static final Pattern TAG_PARAM = Pattern.compile("Tags\\.member\\.(\\d+)\\.(Key|Value)");
  private static final String STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final SecureRandom RANDOM = new SecureRandom();

  private final Vertx vertx;
  private final Clock clock;
  private final String region;
  private final String accountId;
  private volatile boolean allowUnsignedPayload;
  private volatile boolean checkSageMakerAuth = true;
  private volatile boolean recordRequests = true;
  private final Map<String, String> baseCredentials = new ConcurrentHashMap<>();

  /**
   * On the OpenAI path, errors in OpenAI's envelope {@code {"error":{"message","type","code"}}} (as
   * reported of SageMaker; default) or in SageMaker's own shape ({@code x-amzn-ErrorType}, {@code
   * __type}), so the gateway is tested against both.
   */
  private volatile boolean openAiErrorEnvelope = true;

  private final Map<String, Role> roles = new ConcurrentHashMap<>();
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final Map<String, Endpoint> endpoints = new ConcurrentHashMap<>();
  private final List<RecordedRequest> recorded = new ArrayList<>();
  private final Map<Integer, Promise<RecordedRequest>> awaited = new HashMap<>();
  private HttpServer server;

  private SageMakerEmulator(Vertx vertx, Clock clock, String region, String accountId) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.region = Objects.requireNonNull(region, "region");
    if (!accountId.matches("\\d{12}")) {
      throw new IllegalArgumentException("accountId must be 12 digits, was " + accountId);
    }
    this.accountId = accountId;
  }

  /**
   * Starts on 127.0.0.1, a free port, region {@value #DEFAULT_REGION}, account {@value
   * #DEFAULT_ACCOUNT}.
   */
  public static Future<SageMakerEmulator> start(Vertx vertx) {
    return start(vertx, Clock.systemUTC(), DEFAULT_REGION, DEFAULT_ACCOUNT);
  }

  /** Starts with a given clock (signature skew and session expiry), region and account. */
  public static Future<SageMakerEmulator> start(
      Vertx vertx, Clock clock, String region, String accountId) {
    return start(vertx, clock, region, accountId, 0);
  }

  /** As {@link #start(Vertx, Clock, String, String)} on a given port (0: a free one). */
  public static Future<SageMakerEmulator> start(
      Vertx vertx, Clock clock, String region, String accountId, int port) {
    SageMakerEmulator emulator = new SageMakerEmulator(vertx, clock, region, accountId);
    return vertx
        .createHttpServer()
        .requestHandler(emulator::handle)
        .listen(port, "127.0.0.1")
        .map(
            s -> {
              emulator.server = s;
              return emulator;
            });
  }

  public int port() {
    return server.actualPort();
  }

  /** {@code http://127.0.0.1:PORT}: the STS and the SageMaker Runtime endpoint URL. */
  public URI uri() {
    return URI.create("http://127.0.0.1:" + port());
  }

  public String region() {
    return region;
  }

  public String accountId() {
    return accountId;
  }

  /** {@code arn:aws:sagemaker:REGION:ACCOUNT:endpoint/<name lower-cased>}. */
  public String endpointArn(String endpointName) {
    return "arn:aws:sagemaker:"
        + region
        + ":"
        + accountId
        + ":endpoint/"
        + endpointName.toLowerCase(Locale.ROOT);
  }

  /** {@code arn:aws:iam::ACCOUNT:role/NAME}. */
  public String roleArn(String roleName) {
    return "arn:aws:iam::" + accountId + ":role/" + roleName;
  }

  /**
   * Registers base (long-term) credentials, e.g. the gateway's own. They may call AssumeRole for
   * roles that trust them; they have no SageMaker permission of their own.
   */
  public SageMakerEmulator addCredentials(String accessKeyId, String secretAccessKey) {
    baseCredentials.put(
        Objects.requireNonNull(accessKeyId, "accessKeyId"),
        Objects.requireNonNull(secretAccessKey, "secretAccessKey"));
    return this;
  }

  /**
   * Whether requests signed with {@code x-amz-content-sha256: UNSIGNED-PAYLOAD} are accepted
   * (default false: the body must be signed, so a test catches a signer that leaves it out).
   */
  public SageMakerEmulator allowUnsignedPayload(boolean allow) {
    this.allowUnsignedPayload = allow;
    return this;
  }

  /**
   * Benchmarks only: false makes SageMaker Runtime calls skip SigV4, session and IAM checks (any
   * request, signed or not, reaches the endpoint), so a plain reverse proxy and the gateway can be
   * compared against the same upstream doing the same work. STS stays checked. Default true.
   */
  public SageMakerEmulator checkSageMakerAuth(boolean check) {
    this.checkSageMakerAuth = check;
    return this;
  }

  /** OpenAI path errors in OpenAI's envelope (true, the default) or in SageMaker's own shape. */
  public SageMakerEmulator openAiErrorEnvelope(boolean envelope) {
    this.openAiErrorEnvelope = envelope;
    return this;
  }

  /**
   * Benchmarks only: false stops recording requests ({@link #requests()} stays empty), so a long
   * load run does not grow the heap. Default true.
   */
  public SageMakerEmulator recordRequests(boolean record) {
    this.recordRequests = record;
    return this;
  }

  public SageMakerEmulator addRole(Role role) {
    roles.put(role.arn(), role);
    return this;
  }

  /**
   * The endpoint's script, creating the endpoint (behaviour OK) if it does not exist. Names are
   * case-insensitive, as in SageMaker (the ARN uses the lower-cased name).
   */
  public Endpoint endpoint(String name) {
    if (!ENDPOINT_NAME.matcher(name).matches()) {
      throw new IllegalArgumentException(
          "endpoint name must match " + ENDPOINT_NAME + ", was " + name);
    }
    return endpoints.computeIfAbsent(name.toLowerCase(Locale.ROOT), k -> new Endpoint(name));
  }

  /** Shorthand for {@code endpoint(name).behaviour(behaviour)}. */
  public Endpoint endpoint(String name, Behaviour behaviour) {
    return endpoint(name).behaviour(behaviour);
  }

  /** Sessions issued so far, by access key ID. */
  public Map<String, Session> sessions() {
    return Map.copyOf(sessions);
  }

  /** Makes an issued session expire now: its next use answers 403 ExpiredTokenException. */
  public void expireSession(String accessKeyId) {
    sessions.computeIfPresent(
        accessKeyId,
        (k, s) ->
            new Session(
                s.accessKeyId(),
                s.secretAccessKey(),
                s.sessionToken(),
                s.roleArn(),
                s.roleSessionName(),
                s.assumedRoleArn(),
                s.sourceIdentity(),
                s.policy(),
                s.tags(),
                s.transitiveTagKeys(),
                s.externalId(),
                clock.instant().minusSeconds(1)));
  }

  /** A snapshot of every request received since the start or the last {@link #reset()}. */
  public synchronized List<RecordedRequest> requests() {
    return List.copyOf(recorded);
  }

  /** Recorded requests of one operation, e.g. {@link #INVOKE}. */
  public List<RecordedRequest> requests(String operation) {
    return requests().stream().filter(r -> r.operation().equals(operation)).toList();
  }

  /**
   * Completes with the {@code index}-th (0-based) request recorded since the last reset, as soon as
   * it has been received (immediately if it already has).
   */
  public synchronized Future<RecordedRequest> awaitRequest(int index) {
    if (index < recorded.size()) {
      return Future.succeededFuture(recorded.get(index));
    }
    return awaited.computeIfAbsent(index, i -> Promise.promise()).future();
  }

  /**
   * Forgets recorded requests and endpoint scripts (endpoints must be declared again); credentials,
   * roles and issued sessions stay.
   */
  public synchronized void reset() {
    recorded.clear();
    awaited.clear();
    endpoints.clear();
    stsGate = null;
  }

  private volatile Promise<Void> stsGate;

  /**
   * Holds back every AssumeRole answer from now on (each call is recorded at once, answered only
   * later) until the returned promise is completed: a test can then tell "served while a refresh is
   * in flight" apart from "served after it", whatever the machine's speed.
   */
  public Promise<Void> holdStsAnswers() {
    Promise<Void> gate = Promise.promise();
    stsGate = gate;
    return gate;
  }

  /** Stops the server; hanging and streaming requests are cut off. */
  public Future<Void> stop() {
    return server == null ? Future.succeededFuture() : server.close();
  }

  @Override
  public void close() {
    stop();
  }

  // ---------------------------------------------------------------------------------------------

  private void handle(HttpServerRequest request) {
    request
        .body()
        .onSuccess(
            body -> {
              try {
                if (request.path().equals("/") && request.method().name().equals("POST")) {
                  handleSts(request, body.getBytes());
                } else {
                  handleSageMaker(request, body.getBytes());
                }
              } catch (RuntimeException e) {
                // The emulator's own bug: answer 500 loudly so a test fails with a reason.
                if (!request.response().headWritten()) {
                  request.response().setStatusCode(500).end("emulator error: " + e);
                }
                throw e;
              }
            });
  }

  private static Map<String, List<String>> headers(MultiMap multiMap) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    for (String name : multiMap.names()) {
      out.put(name, List.copyOf(multiMap.getAll(name)));
    }
    return out;
  }

  private SigV4Verifier.Result verify(HttpServerRequest request, byte[] body, String service) {
    SigV4Verifier verifier = new SigV4Verifier(clock, allowUnsignedPayload);
    return verifier.verify(
        new SigV4Verifier.Request(
            request.method().name(),
            request.path(),
            request.query(),
            headers(request.headers()),
            body),
        service,
        this::secretOf);
  }

  private String secretOf(String accessKeyId) {
    String base = baseCredentials.get(accessKeyId);
    if (base != null) {
      return base;
    }
    Session session = sessions.get(accessKeyId);
    return session == null ? null : session.secretAccessKey();
  }

  private synchronized void record(RecordedRequest r) {
    if (!recordRequests) {
      return;
    }
    int index = recorded.size();
    recorded.add(r);
    Promise<RecordedRequest> p = awaited.remove(index);
    if (p != null) {
      p.complete(r);
    }
  }

  // ---- STS --------------------------------------------------------------------------------------

  private void handleSts(HttpServerRequest request, byte[] body) {
    Map<String, String> params = new TreeMap<>();
    parseForm(request.query(), params);
    parseForm(new String(body, StandardCharsets.UTF_8), params);
    StsCall call = new StsCall(request, body, params);

    SigV4Verifier.Result sig = verify(request, body, "sts");
    call.accessKeyId = sig.accessKeyId();
    if (!sig.valid()) {
      switch (sig.failure()) {
        case MISSING_AUTHENTICATION ->
            call.error(
                403, "MissingAuthenticationToken", "Request is missing Authentication Token");
        case INCOMPLETE_SIGNATURE -> call.error(400, "IncompleteSignature", sig.message());
        case UNKNOWN_ACCESS_KEY -> call.error(403, "InvalidClientTokenId", INVALID_TOKEN);
        default -> call.error(403, "SignatureDoesNotMatch", sig.message());
      }
      return;
    }
    if (sessions.containsKey(sig.accessKeyId()) && !sessionTokenOk(request, sig.accessKeyId())) {
      call.error(403, "InvalidClientTokenId", INVALID_TOKEN);
      return;
    }
    if (!ASSUME_ROLE.equals(params.get("Action"))) {
      call.error(
          400,
          "InvalidAction",
          "Could not find operation "
              + params.get("Action")
              + " for version "
              + params.get("Version")
              + " (the emulator implements AssumeRole)");
      return;
    }
    if (!"2011-06-15".equals(params.get("Version"))) {
      call.error(
          400, "InvalidParameterValue", "Version must be 2011-06-15, was " + params.get("Version"));
      return;
    }
    String roleArn = params.get("RoleArn");
    String sessionName = params.get("RoleSessionName");
    if (roleArn == null || roleArn.length() < 20) {
      call.error(
          400,
          "ValidationError",
          "1 validation error detected: Value '"
              + roleArn
              + "' at 'roleArn' failed to satisfy constraint: Member must have length greater than"
              + " or equal to 20");
      return;
    }
    if (sessionName == null || !SESSION_NAME.matcher(sessionName).matches()) {
      call.error(
          400,
          "ValidationError",
          "1 validation error detected: Value '"
              + sessionName
              + "' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular"
              + " expression pattern: [\\w+=,.@-]* and length 2..64");
      return;
    }
    String sourceIdentity = params.get("SourceIdentity");
    if (sourceIdentity != null
        && (!SOURCE_IDENTITY.matcher(sourceIdentity).matches()
            || sourceIdentity.toLowerCase(Locale.ROOT).startsWith("aws:"))) {
      call.error(
          400,
          "ValidationError",
          "1 validation error detected: Value '"
              + sourceIdentity
              + "' at 'sourceIdentity' failed to satisfy constraint: Member must satisfy regular"
              + " expression pattern: [\\w+=,.@-]* and length 2..64");
      return;
    }
    String caller = "arn:aws:iam::" + accountId + ":user/" + sig.accessKeyId();
    Role role = roles.get(roleArn);
    if (role == null || !role.trustedAccessKeys().contains(sig.accessKeyId())) {
      call.error(
          403,
          "AccessDenied",
          "User: "
              + caller
              + " is not authorized to perform: sts:AssumeRole on resource: "
              + roleArn);
      return;
    }
    String externalId = params.get("ExternalId");
    if (role.externalId() != null && !role.externalId().equals(externalId)) {
      call.error(
          403,
          "AccessDenied",
          "User: "
              + caller
              + " is not authorized to perform: sts:AssumeRole on resource: "
              + roleArn
              + " (ExternalId "
              + (externalId == null ? "missing" : "does not match")
              + ")");
      return;
    }
    long durationSeconds = 3600;
    if (params.containsKey("DurationSeconds")) {
      try {
        durationSeconds = Long.parseLong(params.get("DurationSeconds"));
      } catch (NumberFormatException e) {
        call.error(
            400,
            "ValidationError",
            "DurationSeconds '" + params.get("DurationSeconds") + "' is not an integer");
        return;
      }
      if (durationSeconds < 900 || durationSeconds > 43200) {
        call.error(
            400,
            "ValidationError",
            "1 validation error detected: Value '"
                + durationSeconds
                + "' at 'durationSeconds' failed to satisfy constraint: Member"
                + " must be between 900 and 43200");
        return;
      }
      if (durationSeconds > role.maxSessionDuration().toSeconds()) {
        call.error(
            400,
            "ValidationError",
            "The requested DurationSeconds exceeds the" + " MaxSessionDuration set for this role.");
        return;
      }
    }
    String policy = params.get("Policy");
    IamPolicy sessionPolicy = null;
    if (policy != null) {
      if (policy.length() > MAX_POLICY_CHARS) {
        call.error(
            400,
            "PackedPolicyTooLarge",
            "Packed policy consumes "
                + (policy.length() * 100 / MAX_POLICY_CHARS)
                + "% of allotted space, please use"
                + " smaller policy for this session ("
                + policy.length()
                + " > "
                + MAX_POLICY_CHARS
                + " characters).");
        return;
      }
      try {
        sessionPolicy = IamPolicy.parse(policy);
      } catch (IamPolicy.MalformedPolicyException e) {
        call.error(400, "MalformedPolicyDocument", e.getMessage());
        return;
      }
    }
    Map<String, String> tags = new LinkedHashMap<>();
    String tagError = parseTags(params, tags);
    if (tagError != null) {
      call.error(
          400,
          tagError.startsWith("Duplicate") || tagError.startsWith("Transitive")
              ? "InvalidParameterValue"
              : "ValidationError",
          tagError);
      return;
    }
    List<String> transitive = new ArrayList<>();
    for (int i = 1; params.containsKey("TransitiveTagKeys.member." + i); i++) {
      String key = params.get("TransitiveTagKeys.member." + i);
      if (!tags.containsKey(key)) {
        call.error(
            400, "InvalidParameterValue", "Transitive tag key " + key + " is not a session tag");
        return;
      }
      transitive.add(key);
    }

    String accessKeyId = "ASIA" + randomUpper(16);
    String secret = randomBase64(30);
    String token = "EMU" + randomBase64(96);
    Instant expiration =
        clock.instant().truncatedTo(ChronoUnit.SECONDS).plusSeconds(durationSeconds);
    String assumedRoleArn =
        "arn:aws:sts::" + accountId + ":assumed-role/" + role.name() + "/" + sessionName;
    Session session =
        new Session(
            accessKeyId,
            secret,
            token,
            roleArn,
            sessionName,
            assumedRoleArn,
            sourceIdentity,
            policy,
            Collections.unmodifiableMap(tags),
            List.copyOf(transitive),
            externalId,
            expiration);
    sessions.put(accessKeyId, session);
    call.tags = session.tags();
    int packed =
        (int)
            Math.max(
                1,
                Math.round(
                    100.0
                        * ((policy == null ? 0 : policy.length()) + tags.toString().length() * 2)
                        / (MAX_POLICY_CHARS * 4.0)));

    StringBuilder xml =
        new StringBuilder()
            .append("<AssumeRoleResponse xmlns=\"")
            .append(STS_NS)
            .append("\">\n")
            .append("  <AssumeRoleResult>\n");
    if (sourceIdentity != null) {
      xml.append("    <SourceIdentity>").append(xml(sourceIdentity)).append("</SourceIdentity>\n");
    }
    xml.append("    <AssumedRoleUser>\n")
        .append("      <AssumedRoleId>AROA")
        .append(roleId(roleArn))
        .append(':')
        .append(xml(sessionName))
        .append("</AssumedRoleId>\n")
        .append("      <Arn>")
        .append(xml(assumedRoleArn))
        .append("</Arn>\n")
        .append("    </AssumedRoleUser>\n")
        .append("    <Credentials>\n")
        .append("      <AccessKeyId>")
        .append(accessKeyId)
        .append("</AccessKeyId>\n")
        .append("      <SecretAccessKey>")
        .append(xml(secret))
        .append("</SecretAccessKey>\n")
        .append("      <SessionToken>")
        .append(xml(token))
        .append("</SessionToken>\n")
        .append("      <Expiration>")
        .append(expiration)
        .append("</Expiration>\n")
        .append("    </Credentials>\n")
        .append("    <PackedPolicySize>")
        .append(packed)
        .append("</PackedPolicySize>\n")
        .append("  </AssumeRoleResult>\n")
        .append("  <ResponseMetadata>\n")
        .append("    <RequestId>")
        .append(call.requestId)
        .append("</RequestId>\n")
        .append("  </ResponseMetadata>\n")
        .append("</AssumeRoleResponse>\n");
    call.respond(200, null, xml.toString());
  }

  /** One STS request in flight: answers it and records it exactly once. */
  private final class StsCall {
    final HttpServerRequest request;
    final byte[] body;
    final Map<String, String> params;
    final String requestId = UUID.randomUUID().toString();
    String accessKeyId;
    Map<String, String> tags = Map.of();

    StsCall(HttpServerRequest request, byte[] body, Map<String, String> params) {
      this.request = request;
      this.body = body;
      this.params = Map.copyOf(params);
    }

    void error(int status, String code, String message) {
      respond(
          status,
          code,
          "<ErrorResponse xmlns=\""
              + STS_NS
              + "\">\n"
              + "  <Error>\n"
              + "    <Type>"
              + (status >= 500 ? "Receiver" : "Sender")
              + "</Type>\n"
              + "    <Code>"
              + code
              + "</Code>\n"
              + "    <Message>"
              + xml(message)
              + "</Message>\n"
              + "  </Error>\n"
              + "  <RequestId>"
              + requestId
              + "</RequestId>\n"
              + "</ErrorResponse>\n");
    }

    void respond(int status, String errorCode, String xmlBody) {
      Map<String, String> askedTags = errorCode == null ? tags : requestedTags(params);
      record(
          new RecordedRequest(
              ASSUME_ROLE,
              null,
              headers(request.headers()),
              body,
              params,
              accessKeyId,
              params.get("RoleArn"),
              params.get("SourceIdentity"),
              params.get("Policy"),
              askedTags,
              status,
              errorCode));
      Runnable answer =
          () ->
              request
                  .response()
                  .setStatusCode(status)
                  .putHeader("Content-Type", "text/xml")
                  .putHeader("x-amzn-RequestId", requestId)
                  .end(xmlBody);
      Promise<Void> gate = stsGate;
      if (gate == null) {
        answer.run();
      } else {
        Context context = Vertx.currentContext();
        gate.future().onComplete(v -> context.runOnContext(x -> answer.run()));
      }
    }
  }

  private static Map<String, String> requestedTags(Map<String, String> params) {
    Map<String, String> tags = new LinkedHashMap<>();
    for (int i = 1; params.containsKey("Tags.member." + i + ".Key"); i++) {
      tags.put(
          params.get("Tags.member." + i + ".Key"),
          params.getOrDefault("Tags.member." + i + ".Value", ""));
    }
    return tags;
  }

  /** Fills {@code tags}; returns an error message, or null. */
  private static String parseTags(Map<String, String> params, Map<String, String> tags) {
    int max = 0;
    for (String name : params.keySet()) {
      Matcher m = TAG_PARAM.matcher(name);
      if (m.matches()) {
        max = Math.max(max, Integer.parseInt(m.group(1)));
      }
    }
    if (max > MAX_SESSION_TAGS) {
      return "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member"
          + " must have length less than or equal to "
          + MAX_SESSION_TAGS
          + " (got "
          + max
          + ")";
    }
    Set<String> lowerKeys = new java.util.HashSet<>();
    for (int i = 1; i <= max; i++) {
      String key = params.get("Tags.member." + i + ".Key");
      String value = params.get("Tags.member." + i + ".Value");
      if (key == null || value == null) {
        return "Tags.member." + i + " needs both Key and Value";
      }
      if (!TAG_KEY.matcher(key).matches() || !TAG_VALUE.matcher(value).matches()) {
        return "Tags.member."
            + i
            + " has an invalid key or value (key 1..128, value 0..256"
            + " characters of [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@])";
      }
      if (!lowerKeys.add(key.toLowerCase(Locale.ROOT))) {
        return "Duplicate tag keys found. Please note that Tag keys are case insensitive: " + key;
      }
      tags.put(key, value);
    }
    return null;
  }

  private static void parseForm(String text, Map<String, String> into) {
    if (text == null || text.isEmpty()) {
      return;
    }
    for (String pair : text.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name =
          URLDecoder.decode(eq < 0 ? pair : pair.substring(0, eq), StandardCharsets.UTF_8);
      String value =
          eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
      into.put(name, value);
    }
  }

  // ---- SageMaker Runtime
  // -------------------------------------------------------------------------

  private void handleSageMaker(HttpServerRequest request, byte[] body) {
    Matcher openAi = OPENAI_PATH.matcher(request.path());
    if (openAi.matches()) {
      handleOpenAi(
          request,
          body,
          URLDecoder.decode(openAi.group(1), StandardCharsets.UTF_8),
          openAi.group(2));
      return;
    }
    Matcher m = INVOKE_PATH.matcher(request.path());
    String operation =
        !m.matches()
            ? "Unknown"
            : switch (m.group(2)) {
              case "invocations" -> INVOKE;
              case "invocations-response-stream" -> INVOKE_STREAM;
              default -> INVOKE_ASYNC;
            };
    String endpointName =
        m.matches() ? URLDecoder.decode(m.group(1), StandardCharsets.UTF_8) : null;
    SmCall call = new SmCall(request, body, operation, endpointName);
    if (!m.matches() || request.method() != io.vertx.core.http.HttpMethod.POST) {
      call.error(
          404,
          "UnknownOperationException",
          "No operation at " + request.method() + " " + request.path());
      return;
    }
    if (!checkSageMakerAuth) {
      Endpoint endpoint = endpoints.get(endpointName.toLowerCase(Locale.ROOT));
      if (endpoint == null) {
        call.error(400, "ValidationError", endpointNotFound(endpointName));
      } else {
        respondAsEndpoint(call, endpoint);
      }
      return;
    }
    SigV4Verifier.Result sig = verify(request, body, "sagemaker");
    call.accessKeyId = sig.accessKeyId();
    if (!sig.valid()) {
      switch (sig.failure()) {
        case MISSING_AUTHENTICATION ->
            call.error(403, "MissingAuthenticationTokenException", "Missing Authentication Token");
        case INCOMPLETE_SIGNATURE -> call.error(403, "IncompleteSignatureException", sig.message());
        case UNKNOWN_ACCESS_KEY -> call.error(403, "UnrecognizedClientException", INVALID_TOKEN);
        default -> call.error(403, "InvalidSignatureException", sig.message());
      }
      return;
    }
    if (!region.equals(sig.region())) {
      call.error(403, "InvalidSignatureException", wrongRegion(sig.region()));
      return;
    }
    Session session = sessions.get(sig.accessKeyId());
    call.session = session;
    String action =
        INVOKE_ASYNC.equals(operation)
            ? "sagemaker:InvokeEndpointAsync"
            : "sagemaker:InvokeEndpoint";
    String resource = endpointArn(endpointName);
    if (session == null) {
      if (request.headers().contains("X-Amz-Security-Token")) {
        call.error(403, "UnrecognizedClientException", INVALID_TOKEN);
        return;
      }
      call.error(
          403,
          "AccessDeniedException",
          "User: arn:aws:iam::"
              + accountId
              + ":user/"
              + sig.accessKeyId()
              + " is not authorized to perform: "
              + action
              + " on resource: "
              + resource
              + " because no identity-based policy allows the "
              + action
              + " action");
      return;
    }
    if (!sessionTokenOk(request, sig.accessKeyId())) {
      call.error(403, "UnrecognizedClientException", INVALID_TOKEN);
      return;
    }
    if (!clock.instant().isBefore(session.expiration())) {
      call.error(
          403,
          "ExpiredTokenException",
          "The security token included in the request is" + " expired");
      return;
    }
    String denial = denial(session, action, resource);
    if (denial != null) {
      call.error(403, "AccessDeniedException", notAuthorized(session, action, resource, denial));
      return;
    }
    Endpoint endpoint = endpoints.get(endpointName.toLowerCase(Locale.ROOT));
    if (endpoint == null) {
      call.error(400, "ValidationError", endpointNotFound(endpointName));
      return;
    }
    if (INVOKE_ASYNC.equals(operation)
        && request.getHeader(SageMakerHeaders.INPUT_LOCATION) == null) {
      call.error(
          400,
          "ValidationError",
          "1 validation error detected: Value null at"
              + " 'inputLocation' failed to satisfy constraint: Member must not be null");
      return;
    }
    respondAsEndpoint(call, endpoint);
  }

  // ---- the OpenAI-compatible path -------------------------------------------------------------

  /**
   * {@code POST /endpoints/{name}[/inference-components/{c}]/openai/v1/chat/completions}: as
   * documented, a bearer token made from session credentials, checked here by {@link
   * BearerTokenVerifier} against the secrets of the sessions this STS issued (signature, expiry,
   * session token), then the session's policies for {@code sagemaker:CallWithBearerToken} (resource
   * {@code *}) and {@code sagemaker:InvokeEndpoint} on the endpoint in the path. As reported: SigV4
   * header auth gets 403, the inference component header 400.
   */
  private void handleOpenAi(
      HttpServerRequest request, byte[] body, String endpointName, String component) {
    SmCall call = new SmCall(request, body, OPENAI_CHAT, endpointName);
    if (request.method() != io.vertx.core.http.HttpMethod.POST) {
      openAiError(call, 405, "MethodNotAllowed", "Use POST");
      return;
    }
    String auth = request.getHeader("Authorization");
    if (auth != null && auth.startsWith("AWS4-HMAC-SHA256")) {
      openAiError(
          call,
          403,
          "AccessDeniedException",
          "SigV4 authentication is not supported on the OpenAI-compatible path; use a bearer token");
      return;
    }
    if (request.getHeader(SageMakerHeaders.INFERENCE_COMPONENT) != null) {
      openAiError(
          call,
          400,
          "ValidationError",
          "Header "
              + SageMakerHeaders.INFERENCE_COMPONENT
              + " is not supported on this path; name the inference component in the path");
      return;
    }
    if (auth == null || !auth.startsWith("Bearer ")) {
      openAiError(call, 401, "MissingAuthenticationTokenException", "Missing bearer token");
      return;
    }
    BearerTokenVerifier.Token token;
    try {
      token =
          new BearerTokenVerifier(clock)
              .verify(auth.substring("Bearer ".length()).trim(), this::secretOf);
    } catch (BearerTokenVerifier.Refused e) {
      openAiError(call, e.status, "UnauthorizedException", e.getMessage());
      return;
    }
    call.accessKeyId = token.accessKeyId();
    if (!region.equals(token.region())) {
      openAiError(call, 403, "InvalidSignatureException", wrongRegion(token.region()));
      return;
    }
    Session session = sessions.get(token.accessKeyId());
    call.session = session;
    String resource = endpointArn(endpointName);
    if (session == null) {
      openAiError(
          call,
          403,
          "AccessDeniedException",
          "User: arn:aws:iam::"
              + accountId
              + ":user/"
              + token.accessKeyId()
              + " is not authorized to perform: sagemaker:CallWithBearerToken");
      return;
    }
    if (token.sessionToken() == null
        || !java.security.MessageDigest.isEqual(
            token.sessionToken().getBytes(StandardCharsets.UTF_8),
            session.sessionToken().getBytes(StandardCharsets.UTF_8))) {
      openAiError(call, 403, "UnrecognizedClientException", INVALID_TOKEN);
      return;
    }
    if (!clock.instant().isBefore(session.expiration())) {
      openAiError(
          call,
          401,
          "ExpiredTokenException",
          "The security token included in the request is expired");
      return;
    }
    for (String[] check :
        new String[][] {
          {"sagemaker:CallWithBearerToken", "*"}, {"sagemaker:InvokeEndpoint", resource}
        }) {
      String denial = denial(session, check[0], check[1]);
      if (denial != null) {
        openAiError(
            call, 403, "AccessDeniedException", notAuthorized(session, check[0], check[1], denial));
        return;
      }
    }
    Endpoint endpoint = endpoints.get(endpointName.toLowerCase(Locale.ROOT));
    if (endpoint == null) {
      openAiError(call, 404, "ValidationError", endpointNotFound(endpointName));
      return;
    }
    respondOpenAi(call, endpoint, component);
  }

  private void respondOpenAi(SmCall call, Endpoint endpoint, String component) {
    ObjectNode request;
    try {
      request = (ObjectNode) JSON.readTree(call.body);
    } catch (java.io.IOException | ClassCastException e) {
      openAiError(call, 400, "ValidationError", "The request body is not a JSON object");
      return;
    }
    String console =
        "https://"
            + region
            + ".console.aws.amazon.com/cloudwatch/home?region="
            + region
            + "#logEventViewer:group=/aws/sagemaker/Endpoints/"
            + endpoint.name;
    switch (endpoint.behaviour()) {
      case MODEL_ERROR -> {
        String original;
        synchronized (endpoint) {
          original = endpoint.modelErrorMessage;
        }
        openAiError(
            call,
            400,
            "ModelError",
            "Received client error (400) from primary with message \""
                + original
                + "\". See "
                + console
                + " in account "
                + accountId
                + " for more information.");
      }
      case NO_CAPACITY ->
          openAiError(
              call,
              400,
              "ValidationError",
              "Inference component "
                  + (component == null ? endpoint.name : component)
                  + " has no capacity to process this request;"
                  + " scaling up from zero was started. Retry later (account "
                  + accountId
                  + ").");
      case SERVICE_UNAVAILABLE ->
          openAiError(call, 503, "ServiceUnavailable", "The service is unavailable.");
      case INTERNAL_FAILURE ->
          openAiError(call, 500, "InternalFailure", "An internal failure occurred.");
      case MODEL_NOT_READY ->
          openAiError(call, 429, "ModelNotReadyException", "Model is not ready.");
      case GARBAGE -> {
        call.record(200, null);
        call.request
            .response()
            .setStatusCode(200)
            .putHeader("Content-Type", "application/json")
            .putHeader("x-amzn-RequestId", call.requestId)
            .end("<html>\u0000 not json</html>");
      }
      case HANG -> hang(call, endpoint);
      case TRICKLE -> trickleJson(call, endpoint);
      default -> openAiOk(call, endpoint, request);
    }
  }

  /** The model's answer: "Hello from ENDPOINT", as one completion or as server-sent events. */
  private void openAiOk(SmCall call, Endpoint endpoint, ObjectNode request) {
    String model = request.path("model").asText("emulated");
    String[] words = {"Hello", " from", " " + endpoint.name};
    ObjectNode usage =
        JSON.createObjectNode()
            .put("prompt_tokens", 7)
            .put("completion_tokens", words.length)
            .put("total_tokens", 7 + words.length);
    call.record(200, null);
    HttpServerResponse r =
        call.request.response().setStatusCode(200).putHeader("x-amzn-RequestId", call.requestId);
    if (!request.path("stream").asBoolean(false)) {
      ObjectNode out =
          JSON.createObjectNode()
              .put("id", "chatcmpl-emu")
              .put("object", "chat.completion")
              .put("created", 0)
              .put("model", model);
      ObjectNode choice = out.putArray("choices").addObject();
      choice.put("index", 0).put("finish_reason", "stop");
      choice.putObject("message").put("role", "assistant").put("content", String.join("", words));
      out.set("usage", usage);
      r.putHeader("Content-Type", "application/json").end(out.toString());
      return;
    }
    boolean includeUsage = request.path("stream_options").path("include_usage").asBoolean(false);
    r.setChunked(true).putHeader("Content-Type", "text/event-stream");
    r.writeHead();
    List<String> events = new ArrayList<>();
    for (int i = 0; i <= words.length; i++) {
      ObjectNode chunk =
          JSON.createObjectNode()
              .put("id", "chatcmpl-emu")
              .put("object", "chat.completion.chunk")
              .put("created", 0)
              .put("model", model);
      ObjectNode choice = chunk.putArray("choices").addObject().put("index", 0);
      if (i < words.length) {
        choice.putObject("delta").put("content", words[i]);
        choice.putNull("finish_reason");
      } else {
        choice.putObject("delta");
        choice.put("finish_reason", "stop");
      }
      events.add("data: " + chunk + "\n\n");
    }
    if (includeUsage) {
      ObjectNode chunk =
          JSON.createObjectNode()
              .put("id", "chatcmpl-emu")
              .put("object", "chat.completion.chunk")
              .put("created", 0)
              .put("model", model);
      chunk.putArray("choices");
      chunk.set("usage", usage);
      events.add("data: " + chunk + "\n\n");
    }
    events.add("data: [DONE]\n\n");
    writeEvents(r, events, 0, endpoint.eventGapMillis());
  }

  /** HANG: the call is recorded and never answered; a client that gives up is an early close. */
  private static void hang(SmCall call, Endpoint endpoint) {
    call.record(0, null);
    call.request.response().closeHandler(v -> endpoint.earlyClose());
  }

  /**
   * A 200 JSON answer whose head is sent as the body starts, the rest left to the caller (which
   * stalls or trickles it); a client that gives up is an early close.
   */
  private static HttpServerResponse openJsonAnswer(SmCall call, Endpoint endpoint) {
    call.record(200, null);
    HttpServerResponse r =
        call.request
            .response()
            .setStatusCode(200)
            .setChunked(true)
            .putHeader("x-amzn-RequestId", call.requestId)
            .putHeader("Content-Type", "application/json");
    r.closeHandler(v -> endpoint.earlyClose());
    return r;
  }

  /** TRICKLE: a JSON answer that starts and then sends a space every 100 ms, never ending. */
  private void trickleJson(SmCall call, Endpoint endpoint) {
    HttpServerResponse r = openJsonAnswer(call, endpoint);
    r.write("{");
    trickle(r);
  }

  /** AWS's answer to a request signed for another region than this emulator's. */
  private String wrongRegion(String scoped) {
    return "Credential should be scoped to a valid region: '" + region + "', not '" + scoped + "'";
  }

  /** SageMaker's answer for an endpoint this account does not have. */
  private String endpointNotFound(String endpointName) {
    return "Endpoint " + endpointName + " of account " + accountId + " not found.";
  }

  /** IAM's answer when the session's policies do not allow {@code action} on {@code resource}. */
  private static String notAuthorized(
      Session session, String action, String resource, String denial) {
    return "User: "
        + session.assumedRoleArn()
        + " is not authorized to perform: "
        + action
        + " on resource: "
        + resource
        + " "
        + denial;
  }

  private void trickle(HttpServerResponse r) {
    vertx.setTimer(
        100,
        id -> {
          if (!r.closed()) {
            r.write(" ");
            trickle(r);
          }
        });
  }

  private void writeEvents(HttpServerResponse r, List<String> events, int i, long gapMillis) {
    if (r.closed()) {
      return;
    }
    if (i == events.size() - 1) {
      r.end(events.get(i));
      return;
    }
    r.write(events.get(i));
    vertx.setTimer(gapMillis, id -> writeEvents(r, events, i + 1, gapMillis));
  }

  private void openAiError(SmCall call, int status, String type, String message) {
    if (!openAiErrorEnvelope) {
      call.error(status, type, message);
      return;
    }
    ObjectNode body = JSON.createObjectNode();
    body.putObject("error").put("message", message).put("type", type).put("code", status);
    call.record(status, type);
    call.request
        .response()
        .setStatusCode(status)
        .putHeader("Content-Type", "application/json")
        .putHeader("x-amzn-RequestId", call.requestId)
        .end(body.toString());
  }

  /** Role permissions ∩ session policy; explicit deny wins; returns why denied, or null. */
  private String denial(Session session, String action, String resource) {
    Role role = roles.get(session.roleArn());
    IamPolicy.Decision byRole =
        role == null ? IamPolicy.Decision.NO_MATCH : role.permissions().evaluate(action, resource);
    IamPolicy.Decision bySession = IamPolicy.Decision.ALLOW;
    if (session.policy() != null) {
      try {
        bySession = IamPolicy.parse(session.policy()).evaluate(action, resource);
      } catch (IamPolicy.MalformedPolicyException e) {
        bySession = IamPolicy.Decision.NO_MATCH; // unreachable: checked at AssumeRole
      }
    }
    if (byRole == IamPolicy.Decision.EXPLICIT_DENY) {
      return "with an explicit deny in an identity-based policy";
    }
    if (bySession == IamPolicy.Decision.EXPLICIT_DENY) {
      return "with an explicit deny in a session policy";
    }
    if (byRole != IamPolicy.Decision.ALLOW) {
      return "because no identity-based policy allows the " + action + " action";
    }
    if (bySession != IamPolicy.Decision.ALLOW) {
      return "because no session policy allows the " + action + " action";
    }
    return null;
  }

  private boolean sessionTokenOk(HttpServerRequest request, String accessKeyId) {
    Session session = sessions.get(accessKeyId);
    String token = request.getHeader("X-Amz-Security-Token");
    return session != null
        && token != null
        && java.security.MessageDigest.isEqual(
            token.getBytes(StandardCharsets.UTF_8),
            session.sessionToken().getBytes(StandardCharsets.UTF_8));
  }

  private void respondAsEndpoint(SmCall call, Endpoint endpoint) {
    Behaviour behaviour = endpoint.behaviour();
    String variant = endpoint.variantName();
    switch (behaviour) {
      case MODEL_ERROR -> {
        int status;
        String original;
        synchronized (endpoint) {
          status = endpoint.modelErrorStatus;
          original = endpoint.modelErrorMessage;
        }
        ObjectNode body = JSON.createObjectNode();
        body.put("ErrorCode", status < 500 ? "CLIENT_ERROR_FROM_MODEL" : "SERVER_ERROR_FROM_MODEL");
        body.put(
            "LogStreamArn",
            "arn:aws:logs:"
                + region
                + ":"
                + accountId
                + ":log-group:/aws/sagemaker/Endpoints/"
                + endpoint.name);
        body.put(
            "Message",
            "Received "
                + (status < 500 ? "client" : "server")
                + " error ("
                + status
                + ") from primary with message \""
                + original
                + "\". See "
                + "https://"
                + region
                + ".console.aws.amazon.com/cloudwatch/home?region="
                + region
                + "#logEventViewer:group=/aws/sagemaker/Endpoints/"
                + endpoint.name
                + " in account "
                + accountId
                + " for more information.");
        body.put("OriginalMessage", original);
        body.put("OriginalStatusCode", status);
        call.json(424, "ModelError", body);
      }
      case SERVICE_UNAVAILABLE ->
          call.error(503, "ServiceUnavailable", "The service is unavailable. Try your call again.");
      case MODEL_NOT_READY ->
          call.error(
              429,
              "ModelNotReadyException",
              "Model for endpoint " + endpoint.name + " is not ready.");
      case INTERNAL_FAILURE -> call.error(500, "InternalFailure", "An internal failure occurred.");
      case NO_CAPACITY ->
          call.error(
              400,
              "ValidationError",
              "Inference component of endpoint "
                  + endpoint.name
                  + " has no capacity to process this request.");
      case HANG -> hang(call, endpoint);
      case STALL_BODY -> openJsonAnswer(call, endpoint).write("{\"partial\":");
      case GARBAGE -> {
        call.record(INVOKE_ASYNC.equals(call.operation) ? 202 : 200, null);
        HttpServerResponse r =
            call.request
                .response()
                .setStatusCode(INVOKE_ASYNC.equals(call.operation) ? 202 : 200)
                .putHeader("x-amzn-RequestId", call.requestId)
                .putHeader(SageMakerHeaders.INVOKED_PRODUCTION_VARIANT, variant);
        if (INVOKE_STREAM.equals(call.operation)) {
          r.putHeader("Content-Type", EventStreamFrames.CONTENT_TYPE);
        } else {
          r.putHeader("Content-Type", "application/json");
        }
        r.end(
            Buffer.buffer(
                "<html><body>\u0000\u00ff not json, not an event stream" + "</body></html>\n"));
      }
      case OK -> {
        switch (call.operation) {
          case INVOKE -> ok(call, endpoint, variant);
          case INVOKE_STREAM -> stream(call, endpoint, variant);
          default -> async(call, endpoint);
        }
      }
      case TRICKLE -> trickleJson(call, endpoint);
      default -> throw new IllegalStateException("unhandled behaviour " + behaviour);
    }
  }

  private void ok(SmCall call, Endpoint endpoint, String variant) {
    byte[] body;
    String contentType;
    synchronized (endpoint) {
      body = endpoint.okBody;
      contentType = endpoint.okContentType;
    }
    if (body == null) {
      ObjectNode json = JSON.createObjectNode();
      json.put("endpoint", endpoint.name);
      json.put("variant", variant);
      json.put("requestBytes", call.body.length);
      body = json.toString().getBytes(StandardCharsets.UTF_8);
    }
    call.record(200, null);
    HttpServerResponse r =
        call.request
            .response()
            .setStatusCode(200)
            .putHeader("Content-Type", contentType)
            .putHeader(SageMakerHeaders.INVOKED_PRODUCTION_VARIANT, variant)
            .putHeader("x-amzn-RequestId", call.requestId);
    echoCustomAttributes(call.request, r);
    r.end(Buffer.buffer(body));
  }

  private void stream(SmCall call, Endpoint endpoint, String variant) {
    call.record(200, null);
    HttpServerResponse r =
        call.request
            .response()
            .setStatusCode(200)
            .setChunked(true)
            .putHeader("Content-Type", EventStreamFrames.CONTENT_TYPE)
            .putHeader(SageMakerHeaders.STREAM_CONTENT_TYPE, "application/json")
            .putHeader(SageMakerHeaders.INVOKED_PRODUCTION_VARIANT, variant)
            .putHeader("x-amzn-RequestId", call.requestId);
    echoCustomAttributes(call.request, r);
    StreamWriter writer = new StreamWriter(endpoint, r, vertx.getOrCreateContext());
    synchronized (endpoint) {
      endpoint.streams.add(writer);
    }
    r.closeHandler(
        v -> {
          if (!writer.ended) {
            writer.stop();
            endpoint.earlyClose();
          }
        });
    // Send the headers now, so the client sees the stream open before any part is released.
    r.writeHead();
    writer.pump();
  }

  private void async(SmCall call, Endpoint endpoint) {
    String inferenceId = call.request.getHeader(SageMakerHeaders.INFERENCE_ID);
    if (inferenceId == null) {
      inferenceId = UUID.randomUUID().toString();
    }
    String base = "s3://sagegate-emulator-" + accountId + "/" + endpoint.name + "/";
    ObjectNode json = JSON.createObjectNode().put("InferenceId", inferenceId);
    call.record(202, null);
    call.request
        .response()
        .setStatusCode(202)
        .putHeader("Content-Type", "application/json")
        .putHeader(SageMakerHeaders.OUTPUT_LOCATION, base + "async-output/" + inferenceId + ".out")
        .putHeader(
            SageMakerHeaders.FAILURE_LOCATION,
            base + "async-failures/" + inferenceId + "-error.out")
        .putHeader("x-amzn-RequestId", call.requestId)
        .end(json.toString());
  }

  private static void echoCustomAttributes(HttpServerRequest request, HttpServerResponse response) {
    String custom = request.getHeader(SageMakerHeaders.CUSTOM_ATTRIBUTES);
    if (custom != null) {
      response.putHeader(SageMakerHeaders.CUSTOM_ATTRIBUTES, custom);
    }
  }

  /** One SageMaker Runtime request in flight. */
  private final class SmCall {
    final HttpServerRequest request;
    final byte[] body;
    final String operation;
    final String endpointName;
    final String requestId = UUID.randomUUID().toString();
    String accessKeyId;
    Session session;

    SmCall(HttpServerRequest request, byte[] body, String operation, String endpointName) {
      this.request = request;
      this.body = body;
      this.operation = operation;
      this.endpointName = endpointName;
    }

    void record(int status, String errorType) {
      if (!recordRequests) {
        return;
      }
      SageMakerEmulator.this.record(
          new RecordedRequest(
              operation,
              endpointName,
              headers(request.headers()),
              body,
              Map.of(),
              accessKeyId,
              session == null ? null : session.roleArn(),
              session == null ? null : session.sourceIdentity(),
              session == null ? null : session.policy(),
              session == null ? Map.of() : session.tags(),
              status,
              errorType));
    }

    void error(int status, String errorType, String message) {
      json(status, errorType, JSON.createObjectNode().put("message", message));
    }

    void json(int status, String errorType, ObjectNode body) {
      record(status, errorType);
      try {
        request
            .response()
            .setStatusCode(status)
            .putHeader("Content-Type", "application/json")
            .putHeader(SageMakerHeaders.ERROR_TYPE, errorType)
            .putHeader("x-amzn-RequestId", requestId)
            .end(Buffer.buffer(JSON.writeValueAsBytes(body)));
      } catch (JsonProcessingException e) {
        throw new IllegalStateException(e);
      }
    }
  }

  // ---- helpers
  // -----------------------------------------------------------------------------------

  private static String xml(String s) {
    return s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("\"", "&quot;")
        .replace("'", "&apos;");
  }

  private static String randomUpper(int n) {
    String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    StringBuilder sb = new StringBuilder(n);
    for (int i = 0; i < n; i++) {
      sb.append(alphabet.charAt(RANDOM.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  private static String randomBase64(int bytes) {
    byte[] b = new byte[bytes];
    RANDOM.nextBytes(b);
    return Base64.getEncoder().withoutPadding().encodeToString(b);
  }

  private static String roleId(String roleArn) {
    return SigV4Verifier.hex(SigV4Verifier.sha256(roleArn.getBytes(StandardCharsets.UTF_8)))
        .substring(0, 17)
        .toUpperCase(Locale.ROOT);
  }
}
