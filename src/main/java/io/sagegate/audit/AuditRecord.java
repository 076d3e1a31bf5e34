package io.sagegate.audit;

import java.time.Instant;

/**
 * The one audit record of a request: who, what, which rule decided, what came of it, how long it
 * took. Opened when the request enters and filled as it passes each stage; written once from the
 * request's end handler, so rejected and failed requests are recorded too. Never holds tokens,
 * credentials or payloads: only the token's subject, issuer and id.
 *
 * <p>Mutable on purpose and confined to the request's event loop.
 */
public final class AuditRecord {

  public final Instant time;
  public final long startNanos;
  public final String requestId;

  /** The client's address: the TCP peer, or the address a trusted proxy forwarded for. */
  public final String sourceIp;

  /**
   * The TCP peer (a trusted proxy, or the load balancer that sent a PROXY protocol header) when it
   * is not {@link #sourceIp}; otherwise null.
   */
  public final String peerIp;

  public final String method;

  public String subject;
  public String issuer;
  public String tokenId;
  public String endpoint;
  public String action;
  public String targetVariant;
  public String targetModel;
  public String inferenceComponent;
  public String decision;
  public String ruleId;

  /**
   * The limit (a {@code limits} id, or {@code maxConcurrency}, {@code maxInFlight}) that refused
   * the call, or, for an admitted call, the quota limits that applied (comma-separated).
   */
  public String limitId;

  public int status;
  public String errorType;
  public String errorReason;
  public int backendStatus;
  public String invokedVariant;
  public String upstreamRequestId;
  public String roleArn;
  public String sessionName;
  public String sourceIdentity;

  /**
   * The OpenAI-compatible route the call came by ({@code openai/v1/chat/completions} or {@code
   * openai/v1/models}); null on the SageMaker Runtime routes.
   */
  public String api;

  /** Tokens the model reported in OpenAI {@code usage}; -1 when it reported none. */
  public long promptTokens = -1;

  public long completionTokens = -1;
  public long bytesIn;
  public long bytesOut;
  public long backendStartNanos;
  public long backendNanos = -1;
  public long totalNanos = -1;

  public AuditRecord(
      Instant time, long startNanos, String requestId, String sourceIp, String method) {
    this(time, startNanos, requestId, sourceIp, null, method);
  }

  /** A record whose client ({@code sourceIp}) came through the proxy {@code peerIp}. */
  public AuditRecord(
      Instant time,
      long startNanos,
      String requestId,
      String sourceIp,
      String peerIp,
      String method) {
    this.time = time;
    this.startNanos = startNanos;
    this.requestId = requestId;
    this.sourceIp = sourceIp;
    this.peerIp = peerIp;
    this.method = method;
  }

  public void backendStarted() {
    backendStartNanos = System.nanoTime();
  }

  public void backendEnded() {
    if (backendStartNanos != 0 && backendNanos < 0) {
      backendNanos = System.nanoTime() - backendStartNanos;
    }
  }
}
