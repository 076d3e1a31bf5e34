package io.sagegate.limits;

/**
 * What the store answered for one limit and key: admitted or not, and the figures the headers show.
 * {@code limit} and {@code windowSeconds} describe the bucket as enforced (divided by the replica
 * count while a {@code local} limit stands in for the store).
 *
 * @param admitted whether the call was admitted (and charged)
 * @param refusedByDay refused by the daily quota rather than the rate
 * @param remaining calls left in the bucket now
 * @param retryAfterMicros for a refusal, how long until one call would be admitted
 * @param resetMicros how long until the bucket is full again
 * @param dayRemaining calls left today, or -1 without a daily quota
 */
public record Verdict(
    boolean admitted,
    boolean refusedByDay,
    long limit,
    long windowSeconds,
    long remaining,
    long retryAfterMicros,
    long resetMicros,
    long dailyQuota,
    long dayRemaining) {}
