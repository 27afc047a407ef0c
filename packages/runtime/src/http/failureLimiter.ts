/**
 * A token bucket per client address that only failed authentications spend.
 * `@fastify/rate-limit` counts every request before it is handled, which would
 * also throttle OpenAI's valid deliveries from a shared address; the contract
 * limits unauthenticated floods only, so valid signed requests never touch this.
 */
export class FailureLimiter {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(
    /** failures allowed at once */
    private readonly burst: number,
    /** failures refilled per second */
    private readonly perSecond: number,
    /** addresses remembered at most; the oldest are forgotten first */
    private readonly maxKeys = 100_000,
  ) {}

  /** Spends one token for a failure; false when the address has none left (answer 429). */
  allowFailure(key: string, nowMs: number): boolean {
    const bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxKeys) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      this.buckets.set(key, { tokens: this.burst - 1, atMs: nowMs });
      return true;
    }
    const refilled = Math.min(this.burst, bucket.tokens + ((nowMs - bucket.atMs) / 1000) * this.perSecond);
    bucket.atMs = nowMs;
    if (refilled < 1) {
      bucket.tokens = refilled;
      return false;
    }
    bucket.tokens = refilled - 1;
    return true;
  }

  /**
   * True while the address has no failure left: checked before the signature, so a
   * flood from one address is answered 429 without the HMAC over each body. Spends nothing.
   */
  isLimited(key: string, nowMs: number): boolean {
    const bucket = this.buckets.get(key);
    if (!bucket) return false;
    return bucket.tokens + ((nowMs - bucket.atMs) / 1000) * this.perSecond < 1;
  }

  /** seconds until the address may fail again */
  retryAfterSec(): number {
    return Math.max(1, Math.ceil(1 / this.perSecond));
  }
}
