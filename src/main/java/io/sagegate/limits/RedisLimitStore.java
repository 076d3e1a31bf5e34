package io.sagegate.limits;

import io.sagegate.config.AdmissionSettings;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisClientType;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;

/**
 * Limits shared by every replica through Redis, with the non-blocking Vert.x client: one call per
 * limit, one atomic Lua script run by {@code EVALSHA} (the script is sent again with {@code EVAL}
 * only when the server does not know it, after a restart or failover). The script reads Redis's own
 * clock ({@code TIME}), so replicas with skewed clocks count alike. Both keys of a call share one
 * hash tag, so the script is valid on Redis Cluster.
 */
public final class RedisLimitStore implements LimitStore {

  /**
   * GCRA with a burst, and an optional daily count. KEYS[1]: the theoretical arrival time in
   * microseconds; KEYS[2]: today's count. ARGV: emission interval (µs), burst, daily quota (0:
   * none), seconds until the day ends, cost (units charged: 1 for a call, a token estimate).
   * Returns {admitted (1, 0: rate, -1: day), retry-after µs, remaining, reset µs, units left
   * today}. A refused call is not charged.
   */
  static final String SCRIPT =
      """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local interval = tonumber(ARGV[1])
      local burst = tonumber(ARGV[2])
      local quota = tonumber(ARGV[3])
      local cost = tonumber(ARGV[5])
      local tat = tonumber(redis.call('GET', KEYS[1]))
      if not tat or tat < now then tat = now end
      local new_tat = tat + interval * cost
      local allow_at = new_tat - burst * interval
      local used = 0
      if quota > 0 then used = tonumber(redis.call('GET', KEYS[2])) or 0 end
      if now < allow_at then
        return {0, allow_at - now, 0, tat - now, quota - used}
      end
      if quota > 0 and used + cost > quota then
        return {-1, 0, math.floor((now - (tat - burst * interval)) / interval), tat - now, 0}
      end
      redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
      if quota > 0 then
        used = redis.call('INCRBY', KEYS[2], cost)
        if used == cost then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]) + 3600) end
      end
      return {1, 0, math.floor((now - allow_at) / interval), new_tat - now, quota - used}
      """;

  static final String SHA = sha1(SCRIPT);

  /**
   * Charges a difference unconditionally (a token estimate settled against the real usage). KEYS as
   * above; ARGV: emission interval (µs), units to add (a credit when negative), daily quota (0:
   * none), seconds until the day ends. A charge may put the bucket in debt; a credit never fills it
   * past full, nor today's count below zero.
   */
  static final String CHARGE =
      """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local interval = tonumber(ARGV[1])
      local delta = tonumber(ARGV[2])
      local tat = tonumber(redis.call('GET', KEYS[1]))
      if not tat or tat < now then tat = now end
      local new_tat = tat + delta * interval
      if new_tat > now then
        redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
      else
        redis.call('DEL', KEYS[1])
      end
      if tonumber(ARGV[3]) > 0 then
        local used = math.max(0, (tonumber(redis.call('GET', KEYS[2])) or 0) + delta)
        redis.call('SET', KEYS[2], used, 'EX', tonumber(ARGV[4]) + 3600)
      end
      return 1
      """;

  static final String CHARGE_SHA = sha1(CHARGE);

  private final Redis redis;
  private final long timeoutMs;

  public RedisLimitStore(Vertx vertx, AdmissionSettings.Store settings) {
    RedisOptions options =
        new RedisOptions()
            .setType(
                settings.type().equals("cluster")
                    ? RedisClientType.CLUSTER
                    : RedisClientType.STANDALONE)
            .setEndpoints(settings.endpoints())
            .setMaxPoolSize(16)
            .setMaxPoolWaiting(4096)
            .setMaxWaitingHandlers(4096)
            .setNetClientOptions(
                new NetClientOptions()
                    .setConnectTimeout((int) Math.max(1, settings.timeout().toMillis()))
                    .setTcpNoDelay(true)
                    .setTcpKeepAlive(true));
    this.redis = Redis.createClient(vertx, options);
    this.timeoutMs = Math.max(1, settings.timeout().toMillis());
  }

  /**
   * Loads the script and opens a first connection, so the first calls do not pay for both (a
   * failure here only logs: calls retry on their own).
   */
  public Future<Void> warmUp() {
    return redis.send(Request.cmd(Command.SCRIPT).arg("LOAD").arg(SCRIPT)).mapEmpty();
  }

  @Override
  public Future<Verdict> take(Quota quota, String key, long cost, long secondsToDayEnd) {
    String tag = "sagegate:{" + key + "}";
    Request evalsha =
        script(Request.cmd(Command.EVALSHA).arg(SHA), quota, tag, secondsToDayEnd, cost);
    return redis
        .send(evalsha)
        .recover(
            err ->
                err.getMessage() != null && err.getMessage().startsWith("NOSCRIPT")
                    ? redis.send(
                        script(
                            Request.cmd(Command.EVAL).arg(SCRIPT),
                            quota,
                            tag,
                            secondsToDayEnd,
                            cost))
                    : Future.failedFuture(err))
        .timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .map(r -> verdict(quota, r));
  }

  @Override
  public Future<Void> charge(Quota quota, String key, long delta, long secondsToDayEnd) {
    String tag = "sagegate:{" + key + "}";
    return redis
        .send(
            charge(
                Request.cmd(Command.EVALSHA).arg(CHARGE_SHA), quota, tag, delta, secondsToDayEnd))
        .recover(
            err ->
                err.getMessage() != null && err.getMessage().startsWith("NOSCRIPT")
                    ? redis.send(
                        charge(
                            Request.cmd(Command.EVAL).arg(CHARGE),
                            quota,
                            tag,
                            delta,
                            secondsToDayEnd))
                    : Future.failedFuture(err))
        .timeout(timeoutMs, TimeUnit.MILLISECONDS)
        .mapEmpty();
  }

  /**
   * The largest cost the shared bucket can ever admit: its burst, or its daily quota if smaller.
   */
  static long maxCost(Quota q) {
    return q.dailyQuota() > 0 ? Math.min(q.burst(), q.dailyQuota()) : q.burst();
  }

  private static Request script(Request r, Quota q, String tag, long secondsToDayEnd, long cost) {
    return keys(r, tag)
        .arg(q.intervalMicros())
        .arg(q.burst())
        .arg(Math.max(0, q.dailyQuota()))
        .arg(secondsToDayEnd)
        .arg(cost);
  }

  private static Request charge(Request r, Quota q, String tag, long delta, long secondsToDayEnd) {
    return keys(r, tag)
        .arg(q.intervalMicros())
        .arg(delta)
        .arg(Math.max(0, q.dailyQuota()))
        .arg(secondsToDayEnd);
  }

  private static Request keys(Request r, String tag) {
    String day = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
    return r.arg(2).arg(tag + ":tat").arg(tag + ":day:" + day);
  }

  private static Verdict verdict(Quota q, Response r) {
    long admitted = r.get(0).toLong();
    long window = -Math.floorDiv(-q.burst() * q.intervalMicros(), 1_000_000);
    long daily = Math.max(0, q.dailyQuota());
    long dayRemaining = daily > 0 ? Math.max(0, r.get(4).toLong()) : -1;
    return new Verdict(
        admitted == 1,
        admitted == -1,
        q.burst(),
        window,
        Math.max(0, r.get(2).toLong()),
        Math.max(0, r.get(1).toLong()),
        Math.max(0, r.get(3).toLong()),
        daily,
        dayRemaining);
  }

  public void close() {
    redis.close();
  }

  private static String sha1(String text) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is missing from this JVM", e);
    }
  }
}
