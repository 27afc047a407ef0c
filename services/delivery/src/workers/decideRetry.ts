import type { DestinationRetry } from "@hookstream/contracts";

export type RetryDecision = { kind: "retry"; delayMs: number } | { kind: "dead"; reason: string };

/**
 * After a failed attempt: try again after the destination's backoff (attempt n waits
 * backoffMs[n-1], the last entry repeating, ±10 % jitter), or dead-letter once its
 * attempts are spent or the next try would come later than maxAgeMs after the event
 * was stored. The breaker's pauses do not spend attempts: a paused destination's
 * events wait without being tried.
 */
export function decideRetry(
  retry: DestinationRetry,
  attempt: number,
  storedAtMs: number,
  nowMs: number,
  random: () => number = Math.random,
): RetryDecision {
  if (attempt >= retry.attempts) return { kind: "dead", reason: `all ${retry.attempts} attempts failed` };
  const base = retry.backoffMs[Math.min(attempt - 1, retry.backoffMs.length - 1)] ?? 0;
  const delayMs = Math.round(base * (0.9 + 0.2 * random()));
  if (nowMs + delayMs - storedAtMs > retry.maxAgeMs)
    return { kind: "dead", reason: `older than its retry.maxAgeMs (${retry.maxAgeMs} ms)` };
  return { kind: "retry", delayMs };
}
