/**
 * The shared state of one destination (one key of the DELIVERY_STATE bucket), and the
 * pure steps that change it. Every step takes `nowMs`; the caller writes the result
 * back with compare-and-set, so two instances never lose each other's update.
 *
 * closed ──N consecutive failures──▶ open (retryAt = now + pause)
 * open ──now ≥ retryAt: one instance claims the probe (probeUntil)──▶ probing
 * probing ──success──▶ closed, history forgotten │ ──failure──▶ open, pause doubled (≤ max)
 * any ──operator pause──▶ paused (nothing sent) ──resume──▶ closed
 */
export interface BreakerPolicy {
  failures: number;
  pauseMs: number;
  maxPauseMs: number;
}

export interface DestinationStateValue {
  /** consecutive failed attempts */
  failures: number;
  /** times opened since the last success: the pause is pauseMs × 2^(opens − 1) */
  opens: number;
  /** while open: when one probe may go (epoch ms); null while closed */
  retryAt: number | null;
  /** an instance's claim to send the probe, until this time (epoch ms) */
  probeUntil: number | null;
  /** set by an operator: nothing is sent until resumed */
  paused: { by: string; at: number; reason: string | null } | null;
  lastError: string | null;
  lastErrorAt: number | null;
}

export const CLOSED: DestinationStateValue = {
  failures: 0,
  opens: 0,
  retryAt: null,
  probeUntil: null,
  paused: null,
  lastError: null,
  lastErrorAt: null,
};

/** What an attempt may do now. */
export type Admission =
  /** send */
  | { kind: "go" }
  /** send as the probe, once the claim (the new state) is written */
  | { kind: "probe"; next: DestinationStateValue }
  /** wait: until `untilMs` (the breaker's retry time or another's probe claim), or a change (paused) */
  | { kind: "wait"; untilMs: number | null; why: "paused" | "open" };

export function admit(s: DestinationStateValue, nowMs: number, probeLeaseMs: number): Admission {
  if (s.paused) return { kind: "wait", untilMs: null, why: "paused" };
  if (s.retryAt === null) return { kind: "go" };
  if (nowMs < s.retryAt) return { kind: "wait", untilMs: s.retryAt, why: "open" };
  if (s.probeUntil !== null && nowMs < s.probeUntil)
    return { kind: "wait", untilMs: s.probeUntil, why: "open" };
  return { kind: "probe", next: { ...s, probeUntil: nowMs + probeLeaseMs } };
}

/**
 * A failed attempt. While closed it counts; the Nth opens the breaker. A failed probe
 * (or any failure once the retry time passed) re-opens it for twice as long. A failure
 * of an attempt that started before the breaker opened changes only the count.
 */
export function onFailure(
  s: DestinationStateValue,
  nowMs: number,
  policy: BreakerPolicy,
  error: string,
): { next: DestinationStateValue; opened: boolean } {
  const base = { ...s, failures: s.failures + 1, lastError: error, lastErrorAt: nowMs };
  const open = s.retryAt !== null;
  const probeDue = open && nowMs >= (s.retryAt as number);
  if ((!open && base.failures >= policy.failures) || probeDue) {
    const opens = s.opens + 1;
    const pause = Math.min(policy.pauseMs * 2 ** (opens - 1), Math.max(policy.maxPauseMs, policy.pauseMs));
    return { next: { ...base, opens, retryAt: nowMs + pause, probeUntil: null }, opened: true };
  }
  return { next: base, opened: false };
}

/** A successful attempt: closes the breaker and forgets the failures; null when nothing changes. */
export function onSuccess(s: DestinationStateValue): DestinationStateValue | null {
  if (s.failures === 0 && s.opens === 0 && s.retryAt === null && s.probeUntil === null) return null;
  return { ...s, failures: 0, opens: 0, retryAt: null, probeUntil: null };
}

export function pause(
  s: DestinationStateValue,
  by: string,
  nowMs: number,
  reason: string | null,
): DestinationStateValue {
  return { ...s, paused: { by, at: nowMs, reason } };
}

/** An operator's resume: delivering again at once, the breaker closed too. */
export function resume(s: DestinationStateValue): DestinationStateValue {
  return { ...s, paused: null, failures: 0, opens: 0, retryAt: null, probeUntil: null };
}

/** The state an operator sees. */
export function stateOf(s: DestinationStateValue): "active" | "open" | "paused" {
  if (s.paused) return "paused";
  return s.retryAt !== null ? "open" : "active";
}
