/**
 * When a destination is paused: after `failures` consecutive failures, for `pauseMs`;
 * each time it fails again right after a pause, for twice as long, up to `maxPauseMs`.
 */
export interface BreakerPolicy {
  failures: number;
  pauseMs: number;
  maxPauseMs: number;
}

interface DestinationState {
  /** consecutive failures */
  failures: number;
  /** times opened since it last succeeded: the pause is pauseMs × 2^(opens − 1) */
  opens: number;
  /** epoch ms the current pause ends; null while closed */
  pausedUntil: number | null;
}

export interface FailureVerdict {
  /** this failure opened (or re-opened) the breaker */
  opened: boolean;
  /** epoch ms the pause ends, when open */
  pausedUntil: number | null;
  failures: number;
}

/**
 * A circuit breaker per destination, pure and clock-injected (every call takes
 * `nowMs`). Closed → `failures` consecutive failures open it for `pauseMs` → when the
 * pause is over it lets deliveries try again (half-open): one more failure re-opens it
 * for twice as long (capped), a success closes it and forgets the history.
 * In memory, per instance: each instance learns a destination's health by itself.
 */
export class CircuitBreaker {
  private readonly states = new Map<string, DestinationState>();

  constructor(private readonly policy: BreakerPolicy) {}

  /** null when a delivery may go now, else the epoch ms its pause ends */
  pausedUntil(destination: string, nowMs: number): number | null {
    const until = this.states.get(destination)?.pausedUntil ?? null;
    return until !== null && nowMs < until ? until : null;
  }

  /** true when this success closed a breaker that had opened */
  success(destination: string): boolean {
    const state = this.states.get(destination);
    this.states.delete(destination);
    return (state?.opens ?? 0) > 0;
  }

  failure(destination: string, nowMs: number): FailureVerdict {
    let state = this.states.get(destination);
    if (!state) {
      state = { failures: 0, opens: 0, pausedUntil: null };
      this.states.set(destination, state);
    }
    state.failures += 1;
    const halfOpen = state.pausedUntil !== null && nowMs >= state.pausedUntil;
    // a failure of a delivery that started before the breaker opened changes nothing more
    const stillPaused = state.pausedUntil !== null && nowMs < state.pausedUntil;
    if (!stillPaused && (halfOpen || state.failures >= this.policy.failures)) {
      state.opens += 1;
      const pause = Math.min(this.policy.pauseMs * 2 ** (state.opens - 1), this.policy.maxPauseMs);
      state.pausedUntil = nowMs + pause;
      return { opened: true, pausedUntil: state.pausedUntil, failures: state.failures };
    }
    return { opened: false, pausedUntil: state.pausedUntil, failures: state.failures };
  }

  /** consecutive failures of a destination (0 when unknown or healthy) */
  failures(destination: string): number {
    return this.states.get(destination)?.failures ?? 0;
  }
}
