import {
  applyOutcome,
  attemptsInsertOf,
  failedAttempts,
  insertAttempts,
  STATUS_RANK,
} from "@hookstream/audit-store";
import type { Outcome } from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";

const rankOf = (column: string) =>
  `(CASE ${column} ${Object.entries(STATUS_RANK)
    .map(([status, rank]) => `WHEN '${status}' THEN ${rank}`)
    .join(" ")} END)`;

/**
 * applyOutcome as one guarded statement, so that instances applying outcomes of the
 * same event at once cannot regress it. The INSERT branch writes a placeholder row
 * (subject NULL) when the outcome comes before the event (an OpenAI event: only
 * OpenAI's events have handlers, so outcomes are of those); its values are
 * applyOutcome(null, outcome). The WHERE skips stale outcomes so that they do not
 * touch updated_at; affected rows = 0 tells the caller nothing changed.
 */
const UPSERT_OUTCOME = `
INSERT INTO webhook_events AS t
  (event_id, provider, event_type, status, processed_at, error_message, retry_count, metadata, created_at,
   updated_at)
VALUES (?, 'openai', ?, ?, ?, ?, ?, '{}'::jsonb, ?, ?)
ON CONFLICT (event_id, provider) DO UPDATE SET
  status = CASE WHEN ${rankOf("t.status")} >= ? THEN t.status ELSE ? END,
  retry_count = GREATEST(t.retry_count, ?),
  processed_at = CASE WHEN ? = 'processed' THEN LEAST(t.processed_at, ?::timestamptz) ELSE t.processed_at END,
  error_message = CASE WHEN ?::text IS NOT NULL AND ? IN ('failed', 'dead') AND ? >= t.retry_count
                       THEN ?::text ELSE t.error_message END,
  updated_at = ?
WHERE ${rankOf("t.status")} < ?
   OR t.retry_count < ?
   OR (? = 'processed' AND (t.processed_at IS NULL OR t.processed_at > ?::timestamptz))
   OR (?::text IS NOT NULL AND ? IN ('failed', 'dead') AND ? >= t.retry_count
       AND t.error_message IS DISTINCT FROM ?::text)`;

function params(outcome: Outcome, now: Date): unknown[] {
  const first = applyOutcome(null, outcome).row;
  const rank = STATUS_RANK[outcome.status];
  const failed = failedAttempts(outcome.status, outcome.attempt);
  const at = new Date(outcome.at);
  const { status, error, attempt } = outcome;
  return [
    // VALUES: the placeholder
    outcome.event_id,
    outcome.event_type,
    first.status,
    first.processedAt,
    first.errorMessage,
    first.retryCount,
    now,
    now,
    // SET
    rank,
    status,
    failed,
    status,
    at,
    error,
    status,
    attempt,
    error,
    now,
    // WHERE
    rank,
    failed,
    status,
    at,
    error,
    status,
    attempt,
    error,
  ];
}

/**
 * Applies outcomes in one transaction, one statement each in arrival order (two
 * outcomes of one event may sit in the same batch, and one statement may not touch a
 * row twice). Returns, for each outcome, whether it changed its row (false: stale).
 */
export async function recordOutcomes(em: EntityManager, outcomes: Outcome[], now: Date): Promise<boolean[]> {
  if (outcomes.length === 0) return [];
  if (outcomes.length === 1) {
    // one outcome (a batch of one, the usual case below a few hundred events a second):
    // its attempt row and its fold in one statement, one round trip instead of four
    // (BEGIN, the attempt, the fold, COMMIT); a data-modifying WITH runs exactly once,
    // and the statement commits or fails as a whole like the transaction below
    const outcome = outcomes[0] as Outcome;
    const attempt = attemptsInsertOf(outcomes);
    const res = await em
      .getConnection()
      .execute<{ affectedRows: number }>(
        `WITH attempt AS (${attempt.sql}) ${UPSERT_OUTCOME}`,
        [...attempt.params, ...params(outcome, now)],
        "run",
      );
    return [res.affectedRows > 0];
  }
  return em.transactional(async (tx) => {
    const conn = tx.getConnection();
    // every attempt, for the console's timeline (the fold below keeps only the result)
    await insertAttempts(conn, outcomes, tx.getTransactionContext());
    const changed: boolean[] = [];
    for (const outcome of outcomes) {
      const res = await conn.execute<{ affectedRows: number }>(
        UPSERT_OUTCOME,
        params(outcome, now),
        "run",
        tx.getTransactionContext(),
      );
      changed.push(res.affectedRows > 0);
    }
    return changed;
  });
}
