package io.sagegate.audit;

import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.backend.BackendResponse;
import io.sagegate.backend.InvocationHeaders;
import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * The one audit record of a request: who, what, which rule decided, what came of it, how long it
 * took. Opened when the request enters and filled as it passes each stage; written once from the
 * request's end handler, so rejected and failed requests are recorded too. Never holds tokens,
 * credentials or payloads: only the token's subject, issuer and id.
 *
 * <p>Each stage sets what it knows through the setter named for it (below, in pipeline order); the
 * sink and the metrics read it through the accessors. Mutable on purpose (one record per request,
 * no copy on the hot path) and confined to the request's event loop.
 */
public final class AuditRecord {

  private final Instant time;
  private final long startNanos;
  private final String requestId;

  /**
   * The client's address: the TCP peer, or the address a trusted proxy forwarded for; null when the
   * connection reports no peer address.
   */
  private final @Nullable String sourceIp;

  /**
   * The TCP peer (a trusted proxy, or the load balancer that sent a PROXY protocol header) when it
   * is not {@link #sourceIp}; otherwise null.
   */
  private final @Nullable String peerIp;

  /** Null for a request whose head never arrived whole (no request line was read). */
  private final @Nullable String method;

  private @Nullable String subject;
  private @Nullable String issuer;
  private @Nullable String tokenId;
  private @Nullable String endpoint;
  private @Nullable String action;
  private @Nullable String targetVariant;
  private @Nullable String targetModel;
  private @Nullable String inferenceComponent;
  private @Nullable String decision;
  private @Nullable String ruleId;

  /**
   * The limit (a {@code limits} id, or {@code maxConcurrency}, {@code maxInFlight}) that refused
   * the call, or, for an admitted call, the quota limits that applied (comma-separated).
   */
  private @Nullable String limitId;

  private int status;
  private @Nullable String errorType;
  private @Nullable String errorReason;
  private int backendStatus;
  private @Nullable String invokedVariant;
  private @Nullable String upstreamRequestId;
  private @Nullable String roleArn;
  private @Nullable String sessionName;
  private @Nullable String sourceIdentity;

  /**
   * The OpenAI-compatible route the call came by ({@code openai/v1/chat/completions} or {@code
   * openai/v1/models}); null on the SageMaker Runtime routes.
   */
  private @Nullable String api;

  /** Tokens the model reported in OpenAI {@code usage}; -1 when it reported none. */
  private long promptTokens = -1;

  private long completionTokens = -1;
  private long bytesIn;
  private long bytesOut;
  private long backendStartNanos;
  private long backendNanos = -1;
  private long totalNanos = -1;

  public AuditRecord(
      Instant time,
      long startNanos,
      String requestId,
      @Nullable String sourceIp,
      @Nullable String method) {
    this(time, startNanos, requestId, sourceIp, null, method);
  }

  /** A record whose client ({@code sourceIp}) came through the proxy {@code peerIp}. */
  public AuditRecord(
      Instant time,
      long startNanos,
      String requestId,
      @Nullable String sourceIp,
      @Nullable String peerIp,
      @Nullable String method) {
    this.time = time;
    this.startNanos = startNanos;
    this.requestId = requestId;
    this.sourceIp = sourceIp;
    this.peerIp = peerIp;
    this.method = method;
  }

  // Set by the stage that knows each value, in pipeline order.

  /** OperationResolver: the action the path (or OpenAiBody: the body's {@code stream}) asks for. */
  public void action(Action action) {
    this.action = action.ruleName();
  }

  /** OperationResolver, AccessControl: the configured endpoint the call targets. */
  public void endpoint(@Nullable String endpoint) {
    this.endpoint = endpoint;
  }

  /** OperationResolver: the OpenAI-compatible route ({@code openai/v1/...}) the call came by. */
  public void api(@Nullable String api) {
    this.api = api;
  }

  /** Authentication: who called, with which token (never the token itself). */
  public void caller(Caller caller) {
    this.subject = caller.subject();
    this.issuer = caller.issuer();
    this.tokenId = caller.tokenId();
  }

  /** HeaderValidation: the variant, model and inference component the caller's headers target. */
  public void target(InvocationHeaders headers) {
    this.targetVariant = headers.targetVariant();
    this.targetModel = headers.targetModel();
    this.inferenceComponent = headers.inferenceComponent();
  }

  /** AccessControl: allowed or denied, and by which rule. */
  public void decision(Decision decision) {
    this.decision = decision.allowed() ? "allow" : "deny";
    this.ruleId = decision.ruleId();
  }

  /** AccessControl: denied before any rule, as the endpoint is not configured. */
  public void unknownEndpoint() {
    this.decision = "deny";
    this.ruleId = Decision.UNKNOWN_ENDPOINT;
  }

  /** QuotaControl, ConcurrencyControl, InFlightAdmission: see {@link #limitId}. */
  public void limit(@Nullable String id) {
    this.limitId = id;
  }

  /** CredentialsStage: the role, session name and SourceIdentity the call runs (or ran) under. */
  public void session(
      @Nullable String roleArn, @Nullable String sessionName, @Nullable String sourceIdentity) {
    this.roleArn = roleArn;
    this.sessionName = sessionName;
    this.sourceIdentity = sourceIdentity;
  }

  /** Invoke: the backend call starts now ({@link System#nanoTime()}). */
  public void backendStarted(long nanoTime) {
    backendStartNanos = nanoTime;
  }

  /** Invoke, RequestTracking: the backend call ended now; only its first end counts. */
  public void backendEnded(long nanoTime) {
    if (backendStartNanos != 0 && backendNanos < 0) {
      backendNanos = nanoTime - backendStartNanos;
    }
  }

  /** Invoke: the status SageMaker (or the model) answered, when only that is known. */
  public void backendStatus(int status) {
    this.backendStatus = status;
  }

  /** Invoke: what the backend's answer says of itself. */
  public void upstream(BackendResponse answer) {
    this.backendStatus = answer.status();
    this.invokedVariant = answer.invokedVariant();
    this.upstreamRequestId = answer.upstreamRequestId();
  }

  /** OpenAiMetering: the tokens the model reported in OpenAI {@code usage}. */
  public void tokens(long prompt, long completion) {
    this.promptTokens = prompt;
    this.completionTokens = completion;
  }

  /** ErrorResponder, Invoke, InFlightCalls, Gateway, RequestTracking: what went wrong. */
  public void error(@Nullable String type, @Nullable String reason) {
    this.errorType = type;
    this.errorReason = reason;
  }

  /** RequestTracking, Gateway: the status the caller got (499 when it left unanswered). */
  public void status(int status) {
    this.status = status;
  }

  /** RequestTracking, Gateway: the bytes read from and written to the caller. */
  public void bytes(long in, long out) {
    this.bytesIn = in;
    this.bytesOut = out;
  }

  /** RequestTracking: the request ended now ({@link System#nanoTime()}). */
  public void finished(long nanoTime) {
    this.totalNanos = nanoTime - startNanos;
  }

  // Read by the sink and the metrics.

  public Instant time() {
    return time;
  }

  public long startNanos() {
    return startNanos;
  }

  public String requestId() {
    return requestId;
  }

  public @Nullable String sourceIp() {
    return sourceIp;
  }

  public @Nullable String peerIp() {
    return peerIp;
  }

  public @Nullable String method() {
    return method;
  }

  public @Nullable String subject() {
    return subject;
  }

  public @Nullable String issuer() {
    return issuer;
  }

  public @Nullable String tokenId() {
    return tokenId;
  }

  public @Nullable String endpoint() {
    return endpoint;
  }

  public @Nullable String action() {
    return action;
  }

  public @Nullable String api() {
    return api;
  }

  public @Nullable String targetVariant() {
    return targetVariant;
  }

  public @Nullable String targetModel() {
    return targetModel;
  }

  public @Nullable String inferenceComponent() {
    return inferenceComponent;
  }

  public @Nullable String decision() {
    return decision;
  }

  public @Nullable String ruleId() {
    return ruleId;
  }

  public @Nullable String limitId() {
    return limitId;
  }

  public int status() {
    return status;
  }

  public @Nullable String errorType() {
    return errorType;
  }

  public @Nullable String errorReason() {
    return errorReason;
  }

  public int backendStatus() {
    return backendStatus;
  }

  public @Nullable String invokedVariant() {
    return invokedVariant;
  }

  public @Nullable String upstreamRequestId() {
    return upstreamRequestId;
  }

  public @Nullable String roleArn() {
    return roleArn;
  }

  public @Nullable String sessionName() {
    return sessionName;
  }

  public @Nullable String sourceIdentity() {
    return sourceIdentity;
  }

  /** -1 when the model reported no usage. */
  public long promptTokens() {
    return promptTokens;
  }

  /** -1 when the model reported no usage. */
  public long completionTokens() {
    return completionTokens;
  }

  public long bytesIn() {
    return bytesIn;
  }

  public long bytesOut() {
    return bytesOut;
  }

  /** -1 unless a backend call started and ended. */
  public long backendNanos() {
    return backendNanos;
  }

  /** -1 until the request ends. */
  public long totalNanos() {
    return totalNanos;
  }
}
