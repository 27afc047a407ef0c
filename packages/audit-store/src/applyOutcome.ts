import type { Outcome, OutcomeStatus } from "@hookstream/contracts";
import type { AuditStatus } from "./WebhookEvent";

/** The part of a `webhook_events` row that outcomes decide. */
export interface OutcomeFields {
  status: AuditStatus;
  retryCount: number;
  processedAt: Date | null;
  errorMessage: string | null;
}

export const PENDING: OutcomeFields = {
  status: "pending",
  retryCount: 0,
  processedAt: null,
  errorMessage: null,
};

/**
 * Statuses in the order they may replace one another: a status never gives way to a
 * lower one. So a terminal status (processed, dead, ignored) is never replaced by
 * `failed`, and a later `processed` (a replay after a fix) replaces `dead`. Because
 * the status is a maximum, outcomes may arrive in any order, twice, or before the
 * event's own row and still end in the same status.
 */
export const STATUS_RANK = {
  pending: 0,
  failed: 1,
  ignored: 2,
  dead: 3,
  processed: 4,
} as const satisfies Record<AuditStatus, number>;

/** How many failed attempts an outcome proves: the failing attempt itself, or those before a success. */
export function failedAttempts(status: OutcomeStatus, attempt: number): number {
  switch (status) {
    case "failed":
    case "dead":
      return attempt;
    case "processed":
    case "ignored":
      return attempt - 1;
    default: {
      const exhaustive: never = status;
      return exhaustive;
    }
  }
}

export interface Applied {
  row: OutcomeFields;
  /** false when the outcome is stale: it changes nothing */
  changed: boolean;
}

/**
 * The fold of one outcome into a row (null: the row does not exist yet). The SQL in
 * recordOutcomes applies exactly these rules in one guarded statement; an integration
 * test checks that both agree.
 * - status: the higher rank wins (STATUS_RANK);
 * - retry_count: the most failed attempts any outcome proves;
 * - processed_at: the first time it was processed;
 * - error_message: the error of the latest failed attempt (failed or dead).
 */
export function applyOutcome(row: OutcomeFields | null, outcome: Outcome): Applied {
  const current = row ?? PENDING;
  const at = new Date(outcome.at);
  const status = STATUS_RANK[outcome.status] > STATUS_RANK[current.status] ? outcome.status : current.status;
  const retryCount = Math.max(current.retryCount, failedAttempts(outcome.status, outcome.attempt));
  const processedAt =
    outcome.status === "processed" && (current.processedAt === null || at < current.processedAt)
      ? at
      : current.processedAt;
  const isFailure = outcome.status === "failed" || outcome.status === "dead";
  const errorMessage =
    isFailure && outcome.error !== null && outcome.attempt >= current.retryCount
      ? outcome.error
      : current.errorMessage;
  const next: OutcomeFields = { status, retryCount, processedAt, errorMessage };
  const changed =
    row === null ||
    next.status !== current.status ||
    next.retryCount !== current.retryCount ||
    next.processedAt?.getTime() !== current.processedAt?.getTime() ||
    next.errorMessage !== current.errorMessage;
  return { row: next, changed };
}
