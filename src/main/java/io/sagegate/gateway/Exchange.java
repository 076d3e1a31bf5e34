package io.sagegate.gateway;

import io.sagegate.audit.AuditRecord;
import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.backend.InvocationHeaders;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.openai.OpenAiCall;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request on its way through the {@link Pipeline}: the caller's request and response, and
 * everything the stages learn about it, in the order they learn it. Each value is written by one
 * stage (named on its accessor) and read by the stages after it.
 *
 * <p>An exchange lives on its connection's event loop, so it needs no synchronisation: every stage
 * runs there, and so does every write to the response. A stage's asynchronous work may finish on
 * another thread (a key fetch or STS call shared with a request on another event loop, an SDK
 * thread); {@link #next()}, {@link #fail(Throwable)} and {@link #onLoop(Runnable)} then carry on
 * from the exchange's own loop, so its unsynchronised state is only ever touched there. (Vert.x
 * would accept a response write from another thread and queue it, but the stage that made it would
 * already have raced the loop for the exchange.) It is our own small type rather than vertx-web's
 * RoutingContext: the traffic path needs no routing (one operation parser decides the path), and a
 * RoutingContext per request (its route iteration, parsed Accept/Content-Type headers, request
 * wrapper and string-keyed data map) cost about a tenth of the gateway's CPU per request under
 * load.
 */
public final class Exchange {

  private static final Logger LOG = LoggerFactory.getLogger(Exchange.class);

  /** Where a failed exchange goes: the pipeline's one error responder. */
  @FunctionalInterface
  public interface FailureHandler {
    void handle(Exchange exchange, Throwable failure);
  }

  private final HttpServerRequest request;
  private final Stage[] stages;
  private final FailureHandler failureHandler;

  /**
   * The event loop this exchange belongs to (its connection's), and that loop's context; no context
   * when the exchange was made off any Vert.x thread (then everything runs on the caller's thread).
   */
  private final Thread loop;

  private final @Nullable Context context;
  private int nextStage;
  private boolean failed;

  /** Counts next(), fail() and later() calls: how a returning stage is seen to have moved on. */
  private int moves;

  private @Nullable Runnable onCallerGone;
  private boolean bodyHeld;

  /** What runs once the exchange has ended (admission permits given back); usually nothing. */
  private java.util.@Nullable List<Runnable> onEnd;

  // Null until the stage that learns each value sets it; the accessors of those the later stages
  // need say which stage that is when it has not run (a bug in the pipeline's order).
  private @Nullable AuditRecord audit;
  private @Nullable GatewayState state;
  private @Nullable Action action;
  private @Nullable String endpointName;
  private @Nullable Caller caller;
  private @Nullable InvocationHeaders headers;
  private @Nullable EndpointConfig endpoint;
  private @Nullable Decision decision;
  private @Nullable Buffer body;
  private @Nullable ScopedCredentials credentials;
  private @Nullable OpenAiCall openAi;

  Exchange(HttpServerRequest request, Stage[] stages, FailureHandler failureHandler) {
    this.request = request;
    this.stages = stages;
    this.failureHandler = failureHandler;
    this.loop = Thread.currentThread();
    this.context = Vertx.currentContext();
  }

  /**
   * Runs {@code action} on this exchange's event loop: at once when called there (the usual case,
   * which costs one thread comparison), else queued to that loop. Stages that answer the caller
   * from an asynchronous callback write the response through it.
   */
  public void onLoop(Runnable action) {
    if (Thread.currentThread() == loop || context == null) {
      action.run();
    } else {
      context.runOnContext(v -> action.run());
    }
  }

  /** Runs the next stage. A stage that throws fails the exchange instead (an internal failure). */
  public void next() {
    if (Thread.currentThread() != loop && context != null) {
      context.runOnContext(v -> next());
      return;
    }
    moves++;
    if (failed || nextStage >= stages.length) {
      return;
    }
    Stage stage = stages[nextStage++];
    int before = moves;
    try {
      stage.handle(this);
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    if (moves == before && !failed && !request.response().ended()) {
      // The stage returned having neither handed on, nor failed, nor said it finishes later:
      // nothing would ever answer the caller but the idle timeout. Fail it now, naming the stage.
      fail(new StageContractException(stage));
    }
  }

  /**
   * Says that the running stage finishes asynchronously: it will call {@link #next()} or {@link
   * #fail(Throwable)} from a callback. A stage that returns without calling one of the three, and
   * without having ended the response itself, fails the exchange at once with a {@link
   * StageContractException} (a 500 naming the stage), instead of leaving the caller waiting for the
   * idle timeout. {@link #holdBody()} says it too.
   */
  public void later() {
    moves++;
  }

  /** A stage returned without calling next(), fail() or later(): a bug in that stage. */
  public static final class StageContractException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    StageContractException(Stage stage) {
      super(
          "Pipeline stage "
              + stage.getClass().getName()
              + " returned without calling next(), fail() or later()");
    }
  }

  /** Ends the exchange with {@code failure}; only the first failure is answered. */
  public void fail(Throwable failure) {
    if (Thread.currentThread() != loop && context != null) {
      context.runOnContext(v -> fail(failure));
      return;
    }
    moves++;
    if (failed) {
      LOG.debug("Request already failed; later failure ignored: {}", failure.toString());
      return;
    }
    failed = true;
    failureHandler.handle(this, failure);
  }

  /**
   * Holds the request body back, and says the stage finishes {@link #later()}. A stage before
   * BodyReader that finishes asynchronously must call this before it returns: body chunks that
   * arrive while no stage reads them would otherwise be lost. Stages that finish at once need not
   * (Vert.x delivers the body only after the request handler returns), and skipping it saves a
   * pause and a resume task per request.
   */
  public void holdBody() {
    later();
    if (!bodyHeld) {
      bodyHeld = true;
      request.pause();
    }
  }

  /** Lets a held body flow again; BodyReader calls it once its handlers are in place. */
  public void releaseBody() {
    if (bodyHeld) {
      bodyHeld = false;
      request.resume();
    }
  }

  /** Runs {@code action} if the caller's connection closes before the response has ended. */
  public void onCallerGone(Runnable action) {
    this.onCallerGone = action;
  }

  /** Called by {@link io.sagegate.gateway.stage.RequestTracking} when the connection closes. */
  public void callerGone() {
    Runnable action = onCallerGone;
    onCallerGone = null;
    if (action != null) {
      action.run();
    }
  }

  /**
   * Runs {@code action} once when the exchange ends: its response ended or its caller went away.
   * Admission control gives its permits back through it.
   */
  public void onEnd(Runnable action) {
    if (onEnd == null) {
      onEnd = new java.util.ArrayList<>(2);
    }
    onEnd.add(action);
  }

  /** Called by {@link io.sagegate.gateway.stage.RequestTracking} once, when the exchange ends. */
  public void ended() {
    java.util.List<Runnable> actions = onEnd;
    onEnd = null;
    if (actions != null) {
      for (Runnable action : actions) {
        try {
          action.run();
        } catch (RuntimeException e) {
          LOG.warn("An end action failed", e);
        }
      }
    }
  }

  public HttpServerRequest request() {
    return request;
  }

  public HttpServerResponse response() {
    return request.response();
  }

  /** Opened by RequestTracking; written once, when the response has ended. */
  public AuditRecord audit() {
    return required(audit, "no audit record: RequestTracking opens it");
  }

  /**
   * The audit record, or null when the exchange failed before RequestTracking opened it (for the
   * failure handler, which answers such an exchange too).
   */
  public @Nullable AuditRecord auditIfOpened() {
    return audit;
  }

  /** The configuration snapshot this request is served with (reloads never change it mid-way). */
  public GatewayState state() {
    return required(state, "no configuration snapshot: RequestTracking pins it");
  }

  public void begin(AuditRecord audit, GatewayState state) {
    this.audit = audit;
    this.state = state;
  }

  /** Set by OperationResolver. */
  public Action action() {
    return required(action, "no action: OperationResolver sets it");
  }

  /** Set by OperationResolver: the endpoint name as written in the path (pattern-checked). */
  public String endpointName() {
    return required(endpointName, "no endpoint name: OperationResolver sets it");
  }

  public void operation(Action action, String endpointName) {
    this.action = action;
    this.endpointName = endpointName;
  }

  /** Set by Authentication. */
  public Caller caller() {
    return required(caller, "no caller: Authentication sets it");
  }

  public void caller(Caller caller) {
    this.caller = caller;
  }

  /** Set by HeaderValidation. */
  public InvocationHeaders headers() {
    return required(headers, "no invocation headers: HeaderValidation sets them");
  }

  public void headers(InvocationHeaders headers) {
    this.headers = headers;
  }

  /** Set by AccessControl, once the call is allowed. */
  public EndpointConfig endpoint() {
    return required(endpoint, "no endpoint: AccessControl sets it once the call is allowed");
  }

  /** Set by AccessControl, once the call is allowed. */
  public Decision decision() {
    return required(decision, "no decision: AccessControl sets it once the call is allowed");
  }

  public void allowed(EndpointConfig endpoint, Decision decision) {
    this.endpoint = endpoint;
    this.decision = decision;
  }

  /**
   * Set by BodyReader (or, on the OpenAI chat route, OpenAiBody); null until read, and on a route
   * that takes no body.
   */
  public @Nullable Buffer body() {
    return body;
  }

  public void body(Buffer body) {
    this.body = body;
  }

  /** Set by CredentialsStage. */
  public ScopedCredentials credentials() {
    return required(credentials, "no credentials: CredentialsStage sets them");
  }

  public void credentials(ScopedCredentials credentials) {
    this.credentials = credentials;
  }

  /** Set by OperationResolver for a call on the OpenAI-compatible routes; null for any other. */
  public @Nullable OpenAiCall openAi() {
    return openAi;
  }

  public void openAi(OpenAiCall call) {
    this.openAi = call;
  }

  /**
   * {@code value}, set by an earlier stage; when it is not, that stage has not run before the one
   * asking, a bug in the pipeline's order that {@code unset} names.
   */
  private static <T> T required(@Nullable T value, String unset) {
    if (value == null) {
      throw new IllegalStateException(unset);
    }
    return value;
  }
}
