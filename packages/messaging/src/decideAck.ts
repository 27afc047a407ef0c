import type { RetryPolicy } from "@hookstream/contracts";
import { HandBackError, isPermanentError, RetryableError } from "./errors";

export type AckDecision =
  | { kind: "ack" }
  | { kind: "nak"; delayMs: number }
  | { kind: "term"; reason: "permanent" | "exhausted" };

/**
 * The nak delay before delivery `deliveryCount + 1`: exponential from `baseDelayMs`,
 * capped at `maxDelayMs`, with a quarter of it random: instances that failed together
 * do not all come back at the same instant, and (below the cap) every delay is still
 * at least 1.5× the longest the previous one could have been, so delays visibly grow.
 * `random` is injectable for tests.
 */
export function nakDelayMs(
  policy: RetryPolicy,
  deliveryCount: number,
  random: () => number = Math.random,
): number {
  const exp = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, deliveryCount - 1));
  const quarter = exp / 4;
  return Math.round(3 * quarter + random() * quarter);
}

/**
 * The one place that decides how a message ends (STYLE §5). On nats-server 2.9 a
 * consumer's `backoff` applies only to ack timeouts, never to naks, so the delay is
 * computed here from the delivery count (which starts at 1).
 */
export function decideAck(
  error: unknown | null,
  deliveryCount: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): AckDecision {
  if (error === null || error === undefined) return { kind: "ack" };
  if (error instanceof HandBackError) return { kind: "nak", delayMs: error.delayMs };
  if (isPermanentError(error)) return { kind: "term", reason: "permanent" };
  // maxDeliver ≤ 0 means unlimited (the audit: an outage may last any time, nothing is dropped)
  if (policy.maxDeliver > 0 && deliveryCount >= policy.maxDeliver)
    return { kind: "term", reason: "exhausted" };
  const delayMs = nakDelayMs(policy, deliveryCount, random);
  const floor = error instanceof RetryableError ? (error.retryAfterMs ?? 0) : 0;
  return { kind: "nak", delayMs: Math.max(delayMs, floor) };
}
