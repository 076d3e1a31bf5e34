package io.sagegate.aws;

import com.github.benmanes.caffeine.cache.AsyncCacheLoader;
import com.github.benmanes.caffeine.cache.AsyncLoadingCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.sagegate.auth.Caller;
import io.sagegate.authz.Action;
import io.sagegate.authz.Decision;
import io.sagegate.config.AwsSettings;
import io.sagegate.config.EndpointConfig;
import io.sagegate.credentials.CredentialsException;
import io.sagegate.credentials.CredentialsProvider;
import io.sagegate.credentials.ScopedCredentials;
import io.sagegate.error.Errors;
import io.sagegate.error.GatewayException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsAsyncClient;
import software.amazon.awssdk.services.sts.model.AssumeRoleRequest;
import software.amazon.awssdk.services.sts.model.AssumeRoleResponse;
import software.amazon.awssdk.services.sts.model.Tag;

/**
 * Credentials for the AWS path: one STS AssumeRole session per caller, endpoint and action, scoped
 * by an inline {@link SessionPolicy} to exactly that endpoint and action, carrying the caller's
 * {@link SourceIdentity} (also the session name, so CloudTrail names the caller) and {@link
 * SessionTags}.
 *
 * <p>The role is the deciding rule's {@code roleArn}, else the endpoint backend's. Sessions are
 * cached (Caffeine, bounded by {@code aws.credentialCacheSize}) by role, endpoint ARN, IAM action,
 * SourceIdentity and tags: concurrent identical requests share one STS call; a session is refreshed
 * in the background {@code aws.refreshAhead} before its nominal end (the old one is served
 * meanwhile) and never served later than one minute before it expires.
 *
 * <p>Failures: STS AccessDenied (trust policy, ExternalId, missing sts:TagSession or
 * sts:SetSourceIdentity) answers 403, anything else 503; STS's own code and message go only to the
 * audit reason and a WARN log that says what to fix, never to the caller. Every refusal after the
 * role is known is a {@link CredentialsException} naming the role, session name and SourceIdentity
 * asked for, so the audit record of a failed request says what was attempted for whom.
 */
public final class StsCredentialsProvider implements CredentialsProvider {

  public static final int MIN_DURATION_SECONDS = 900;
  public static final int MAX_DURATION_SECONDS = 43_200;
  public static final int ROLE_CHAINING_MAX_SECONDS = 3_600;

  /** Never hand out a session closer than this to its expiration. */
  public static final Duration EXPIRY_MARGIN = Duration.ofMinutes(1);

  private static final Logger LOG = LoggerFactory.getLogger(StsCredentialsProvider.class);

  /**
   * Caffeine logs every failed asynchronous load with a stack trace (through JUL, at WARNING); this
   * class already logs one line that tells the operator what to fix, so Caffeine's copy is kept to
   * SEVERE. Held in a field: JUL keeps loggers only weakly.
   */
  private static final java.util.logging.Logger CAFFEINE_LOG = quietCaffeine();

  private static java.util.logging.Logger quietCaffeine() {
    java.util.logging.Logger logger =
        java.util.logging.Logger.getLogger("com.github.benmanes.caffeine");
    logger.setLevel(java.util.logging.Level.SEVERE);
    return logger;
  }

  private static final List<String> ERROR_CODES =
      List.of(
          "AccessDenied",
          "PackedPolicyTooLarge",
          "MalformedPolicyDocument",
          "RegionDisabled",
          "Throttling",
          "other");

  /** What identifies a session; everything the AssumeRole call is built from. */
  record Key(
      String roleArn,
      String endpointArn,
      String iamAction,
      String policy,
      String sourceIdentity,
      List<Tag> tags) {}

  /**
   * What a {@link Key} is computed from, as it arrives with each request: role ARN, endpoint name,
   * IAM action, subject and the raw tag claim values ({@link SessionTags#claimValues}). The Key is
   * a function of these (region and account are fixed per provider), so the hit path looks the Key
   * up by them instead of parsing the role ARN, mapping the subject, validating the tags and
   * rendering the policy JSON per request. Only successfully computed Keys are remembered: invalid
   * inputs are refused (and logged) on every request as before.
   */
  private record Inputs(
      @Nullable String roleArn,
      String endpointName,
      String iamAction,
      @Nullable String subject,
      List<Object> tagClaims,
      boolean bearerToken) {}

  private final Vertx vertx;
  private final StsAsyncClient sts;
  private final AwsSettings settings;
  private final Region region;
  private final SessionTags sessionTags;
  private final int durationSeconds;
  private final AsyncLoadingCache<Key, ScopedCredentials> cache;
  private final Cache<Inputs, Key> keys;
  private final Counter hits;
  private final Counter misses;
  private final Counter refreshes;
  private final Timer stsDuration;
  private final Map<String, Counter> errors = new ConcurrentHashMap<>();
  private final MeterRegistry registry;
  private final Clock clock;

  /**
   * @param sts the gateway's STS client ({@link AwsClients#sts()})
   * @param region the region of the endpoints ({@link AwsClients#region()})
   */
  public StsCredentialsProvider(
      Vertx vertx,
      StsAsyncClient sts,
      AwsSettings settings,
      Region region,
      MeterRegistry registry) {
    this(vertx, sts, settings, region, registry, Ticker.systemTicker(), Clock.systemUTC());
  }

  /** With a cache ticker and a clock for expirations: tests move time with these. */
  StsCredentialsProvider(
      Vertx vertx,
      StsAsyncClient sts,
      AwsSettings settings,
      Region region,
      MeterRegistry registry,
      Ticker ticker,
      Clock clock) {
    this.vertx = vertx;
    this.clock = clock;
    this.sts = sts;
    this.settings = settings;
    this.region = region;
    this.registry = registry;
    this.sessionTags = new SessionTags(settings.sessionTags());
    this.durationSeconds = durationSeconds(settings);
    String cacheHelp = "Scoped STS sessions asked for, by whether the cache had one";
    this.hits =
        Counter.builder("sagegate.credentials.cache")
            .description(cacheHelp)
            .tag("result", "hit")
            .register(registry);
    this.misses =
        Counter.builder("sagegate.credentials.cache")
            .description(cacheHelp)
            .tag("result", "miss")
            .register(registry);
    this.refreshes =
        Counter.builder("sagegate.credentials.refreshes")
            .description("Cached STS sessions refreshed ahead of their expiry")
            .register(registry);
    this.stsDuration =
        io.sagegate.metrics.DurationBuckets.apply(
                Timer.builder("sagegate.sts.duration")
                    .description("Time STS AssumeRole calls took"))
            .register(registry);
    for (String code : ERROR_CODES) {
      errors.put(
          code,
          Counter.builder("sagegate.sts.errors")
              .description("STS calls that failed, by STS error code")
              .tag("code", code)
              .register(registry));
    }
    Duration refreshAfter = Duration.ofSeconds(durationSeconds).minus(settings.refreshAhead());
    if (refreshAfter.compareTo(Duration.ofMinutes(1)) < 0) {
      refreshAfter = Duration.ofSeconds(durationSeconds / 2);
    }
    // Caffeine's maintenance runs on the calling thread (the event loop), as for the token cache:
    // the default hand-off to ForkJoinPool.commonPool() costs a thread wake-up per drain. It is
    // in-memory work only; the loader itself already starts its STS call on the calling thread
    // and returns at once.
    this.cache =
        Caffeine.newBuilder()
            .executor(Runnable::run)
            .maximumSize(settings.credentialCacheSize())
            .refreshAfterWrite(refreshAfter)
            .ticker(ticker)
            .expireAfter(new UntilExpiration())
            .buildAsync(new Loader());
    this.keys =
        Caffeine.newBuilder()
            .executor(Runnable::run)
            .maximumSize(settings.credentialCacheSize())
            .build();
  }

  /**
   * Built from the gateway's clients: {@code new StsCredentialsProvider(vertx, clients.sts(),
   * settings, clients.region(), registry)}.
   */
  public static StsCredentialsProvider create(
      Vertx vertx, AwsClients clients, AwsSettings settings, MeterRegistry registry) {
    return new StsCredentialsProvider(vertx, clients.sts(), settings, clients.region(), registry);
  }

  /**
   * {@code aws.sessionDuration} clamped to STS's 900..43200 s, and to one hour under role chaining.
   */
  public static int durationSeconds(AwsSettings settings) {
    long s = settings.sessionDuration().toSeconds();
    long max = settings.roleChaining() ? ROLE_CHAINING_MAX_SECONDS : MAX_DURATION_SECONDS;
    return (int) Math.max(MIN_DURATION_SECONDS, Math.min(max, s));
  }

  @Override
  public Future<ScopedCredentials> credentialsFor(
      Caller caller, EndpointConfig endpoint, Action action, Decision decision) {
    String iamAction = SessionPolicy.iamAction(action);
    // bearerToken too: a reload that puts the endpoint on the OpenAI path changes its policy.
    Inputs inputs =
        new Inputs(
            roleArn(endpoint, decision),
            endpoint.name(),
            iamAction,
            caller.subject(),
            sessionTags.claimValues(caller.claims()),
            endpoint.backend().openaiEnabled());
    Key key = keys.getIfPresent(inputs);
    if (key == null) {
      try {
        key = key(caller, endpoint, action, decision);
      } catch (GatewayException e) {
        return Future.failedFuture(e);
      }
      keys.put(inputs, key);
    }
    CompletableFuture<ScopedCredentials> present = cache.getIfPresent(key);
    if (present != null) {
      hits.increment();
      // A session already at hand on an event loop: hand it out directly. This is what the
      // context-bound future below amounts to there (its callbacks run on this thread at once),
      // without the promise, the whenComplete stage and the recover stage per request.
      if (present.isDone()
          && !present.isCompletedExceptionally()
          && Context.isOnEventLoopThread()) {
        return Future.succeededFuture(present.getNow(null));
      }
    } else {
      misses.increment();
    }
    CompletableFuture<ScopedCredentials> result = present != null ? present : cache.get(key);
    Key attempted = key;
    return Future.fromCompletionStage(result, vertx.getOrCreateContext())
        .recover(
            t ->
                Future.failedFuture(
                    attempt(
                        translate(unwrap(t), endpoint.name(), attempted.roleArn()),
                        attempted.roleArn(),
                        attempted.sourceIdentity())));
  }

  /**
   * The deciding rule's role, else the endpoint backend's (may be null or blank: refused by {@link
   * #key}).
   */
  private static @Nullable String roleArn(EndpointConfig endpoint, Decision decision) {
    return decision != null && decision.rule() != null && decision.rule().roleArn() != null
        ? decision.rule().roleArn()
        : endpoint.backend().roleArn();
  }

  Key key(Caller caller, EndpointConfig endpoint, Action action, Decision decision) {
    String roleArn = roleArn(endpoint, decision);
    if (roleArn == null || roleArn.isBlank()) {
      LOG.warn(
          "endpoint {} has backend type sagemaker but no roleArn on the endpoint or rule {}: set backend.roleArn",
          endpoint.name(),
          decision == null ? "-" : decision.ruleId());
      throw unavailable(endpoint.name()).withAuditReason("sts:no_role_configured");
    }
    // From here on a refusal names the attempt (what is derived so far) for the audit record.
    String endpointArn;
    try {
      endpointArn =
          SessionPolicy.endpointArn(roleArn, region.id(), settings.accountId(), endpoint.name());
    } catch (IllegalArgumentException e) {
      LOG.warn("endpoint {}: {}", endpoint.name(), e.getMessage());
      throw attempt(
          unavailable(endpoint.name()).withAuditReason("sts:invalid_role_arn"), roleArn, null);
    }
    String sourceIdentity;
    try {
      sourceIdentity = SourceIdentity.of(caller.subject());
    } catch (GatewayException e) {
      throw attempt(e, roleArn, null);
    }
    List<Tag> tags;
    try {
      tags = sessionTags.of(caller.claims());
    } catch (GatewayException e) {
      throw attempt(e, roleArn, sourceIdentity);
    }
    String policy;
    try {
      policy = SessionPolicy.of(endpointArn, action, endpoint.backend().openaiEnabled());
    } catch (IllegalStateException e) {
      LOG.warn("endpoint {}: {}", endpoint.name(), e.getMessage());
      throw attempt(
          unavailable(endpoint.name()).withAuditReason("sts:policy_too_large"),
          roleArn,
          sourceIdentity);
    }
    return new Key(
        roleArn, endpointArn, SessionPolicy.iamAction(action), policy, sourceIdentity, tags);
  }

  private CompletableFuture<ScopedCredentials> assume(Key key) {
    List<String> tagKeys = key.tags().stream().map(Tag::key).toList();
    AssumeRoleRequest.Builder request =
        AssumeRoleRequest.builder()
            .roleArn(key.roleArn())
            .roleSessionName(key.sourceIdentity())
            .sourceIdentity(key.sourceIdentity())
            .policy(key.policy())
            .durationSeconds(durationSeconds)
            .externalId(settings.externalId());
    if (!key.tags().isEmpty()) {
      request.tags(key.tags());
      List<String> transitive =
          settings.transitiveTagKeys().stream().filter(tagKeys::contains).toList();
      if (!transitive.isEmpty()) {
        request.transitiveTagKeys(transitive);
      }
    }
    Timer.Sample sample = Timer.start(registry);
    return sts.assumeRole(request.build())
        .whenComplete((r, t) -> sample.stop(stsDuration))
        .thenApply(r -> toScoped(key, r));
  }

  private static ScopedCredentials toScoped(Key key, AssumeRoleResponse r) {
    var c = r.credentials();
    AwsSessionCredentials credentials =
        AwsSessionCredentials.builder()
            .accessKeyId(c.accessKeyId())
            .secretAccessKey(c.secretAccessKey())
            .sessionToken(c.sessionToken())
            .expirationTime(c.expiration())
            .build();
    return new ScopedCredentials(
        credentials, key.roleArn(), key.sourceIdentity(), key.sourceIdentity(), c.expiration());
  }

  private GatewayException translate(Throwable t, String endpointName, String roleArn) {
    if (t instanceof GatewayException g) {
      return g;
    }
    if (t instanceof AwsServiceException ase) {
      String code = errorCode(ase);
      String label = label(code);
      errorCounter(label).increment();
      LOG.warn(
          "STS AssumeRole of {} for endpoint {} failed: {} ({}). {}",
          roleArn,
          endpointName,
          code,
          ase.awsErrorDetails() == null ? "" : ase.awsErrorDetails().errorMessage(),
          advice(label));
      GatewayException e =
          label.equals("AccessDenied")
              ? new GatewayException(
                  403,
                  Errors.ACCESS_DENIED,
                  "The gateway is not allowed to obtain credentials for endpoint " + endpointName)
              : unavailable(endpointName);
      return e.withAuditReason("sts:" + code);
    }
    errorCounter("other").increment();
    LOG.warn(
        "STS AssumeRole of {} for endpoint {} failed: {}. Check that STS (aws.stsEndpoint) is reachable",
        roleArn,
        endpointName,
        t.toString());
    return unavailable(endpointName).withAuditReason("sts:unreachable");
  }

  /**
   * STS's error code; an answer whose body the SDK could not read (some emulators) falls back on
   * the HTTP status, 403 meaning AccessDenied.
   */
  static String errorCode(AwsServiceException e) {
    String code = e.awsErrorDetails() == null ? null : e.awsErrorDetails().errorCode();
    if (code != null && !code.isBlank()) {
      return code;
    }
    return e.statusCode() == 403 ? "AccessDenied" : "HTTP" + e.statusCode();
  }

  /** The counter of an error label; every label {@link #label} gives is registered up front. */
  private Counter errorCounter(String label) {
    return Objects.requireNonNull(errors.get(label), "no STS error counter for " + label);
  }

  static String label(String code) {
    return switch (code) {
      case "AccessDenied", "AccessDeniedException" -> "AccessDenied";
      case "PackedPolicyTooLarge" -> "PackedPolicyTooLarge";
      case "MalformedPolicyDocument" -> "MalformedPolicyDocument";
      case "RegionDisabledException", "RegionDisabled" -> "RegionDisabled";
      case "Throttling", "ThrottlingException" -> "Throttling";
      default -> "other";
    };
  }

  private static String advice(String label) {
    return switch (label) {
      case "AccessDenied" ->
          "Fix: the gateway's identity needs sts:AssumeRole on the role, and the role's trust policy"
              + " must allow it sts:AssumeRole, sts:TagSession and sts:SetSourceIdentity, with an sts:ExternalId"
              + " condition equal to aws.externalId if it has one";
      case "PackedPolicyTooLarge" -> "Fix: fewer or shorter session tags (aws.sessionTags)";
      case "MalformedPolicyDocument" ->
          "Fix: the session policy or a tag was rejected; check endpoint name and aws.accountId";
      case "RegionDisabled" ->
          "Fix: activate STS in this region (IAM account settings) or set aws.stsEndpoint";
      case "Throttling" ->
          "STS throttled the gateway; raise aws.credentialCacheSize or the session duration";
      default -> "";
    };
  }

  /**
   * {@code failure} naming the role and the SourceIdentity (also the session name, see {@link
   * #assume}) it was refused for; null where not derived yet.
   */
  private static CredentialsException attempt(
      GatewayException failure, String roleArn, @Nullable String sourceIdentity) {
    return failure instanceof CredentialsException c
        ? c
        : new CredentialsException(failure, roleArn, sourceIdentity, sourceIdentity);
  }

  private static GatewayException unavailable(String endpointName) {
    return Errors.serviceUnavailable("Could not obtain credentials for endpoint " + endpointName);
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException
            || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private final class Loader implements AsyncCacheLoader<Key, ScopedCredentials> {
    @Override
    public CompletableFuture<ScopedCredentials> asyncLoad(Key key, Executor executor) {
      return assume(key);
    }

    @Override
    public CompletableFuture<ScopedCredentials> asyncReload(
        Key key, ScopedCredentials old, Executor executor) {
      refreshes.increment();
      return assume(key);
    }
  }

  /** Expires each session one minute before STS's expiration. */
  private final class UntilExpiration implements Expiry<Key, ScopedCredentials> {
    private long nanosLeft(ScopedCredentials v) {
      Instant now = clock.instant();
      Instant end = v.expiration() == null ? now : v.expiration().minus(EXPIRY_MARGIN);
      return Math.max(0, Duration.between(now, end).toNanos());
    }

    @Override
    public long expireAfterCreate(Key key, ScopedCredentials value, long currentTime) {
      return nanosLeft(value);
    }

    @Override
    public long expireAfterUpdate(
        Key key, ScopedCredentials value, long currentTime, long currentDuration) {
      return nanosLeft(value);
    }

    @Override
    public long expireAfterRead(
        Key key, ScopedCredentials value, long currentTime, long currentDuration) {
      return currentDuration;
    }
  }
}
