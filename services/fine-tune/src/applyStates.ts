import { arrayLiteral } from "@hookstream/db";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JobState } from "./evolve";

const COLUMNS =
  "openai_job_id, status, model, fine_tuned_model, trained_tokens, error, created_at, finished_at, last_event_id, last_event_at, last_stream_seq, status_event_at, status_stream_seq, project";
const TERMINAL = "('succeeded', 'failed', 'cancelled')";
/** rows per statement (14 array parameters whatever the count) */
const CHUNK = 5_000;

/**
 * The rows as 14 array parameters (one per column), read by `unnest` in SQL: the
 * statement text and its parameter count never change, and nothing is formatted per
 * row by the ORM (the profile of a rebuild put that at a third of its write step).
 */
function columnsOf(states: JobState[]): string[] {
  const col = <T extends string | number | null>(f: (s: JobState) => T) => arrayLiteral(states.map(f));
  return [
    col((s) => s.openaiJobId),
    col((s) => s.status),
    col((s) => s.model),
    col((s) => s.fineTunedModel),
    col((s) => s.trainedTokens),
    col((s) => (s.error === null || s.error === undefined ? null : JSON.stringify(s.error))),
    col((s) => s.createdAt),
    col((s) => s.finishedAt),
    col((s) => s.lastEventId),
    col((s) => s.lastEventAt),
    col((s) => s.lastStreamSeq),
    col((s) => s.statusEventAt),
    col((s) => s.statusStreamSeq),
    col((s) => s.project),
  ];
}

/** The rows of `columnsOf`, with unix seconds as timestamps. */
const ROWS = `SELECT j, s, m, ftm, tt, e::jsonb, to_timestamp(ca), to_timestamp(fa), lei, to_timestamp(lea), lss,
      to_timestamp(sea), sss, p
    FROM unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::float8[], ?::float8[],
      ?::text[], ?::float8[], ?::bigint[], ?::float8[], ?::bigint[], ?::text[])
      AS u(j, s, m, ftm, tt, e, ca, fa, lei, lea, lss, sea, sss, p)`;

/**
 * Runs a statement with bound parameters on the entity manager's transaction when it
 * has one, else on a pooled connection (knex binds `?` as `$n`; MikroORM's execute
 * would inline and escape every value into the text).
 */
async function run(em: EntityManager, sql: string, params: string[]): Promise<number> {
  const runner = (em.getTransactionContext() ?? em.getConnection().getKnex()) as {
    raw(sql: string, params: string[]): Promise<{ rowCount?: number | null }>;
  };
  return (await runner.raw(sql, params)).rowCount ?? 0;
}

/**
 * Writes folded states into a table nothing else writes (a rebuild's fresh table):
 * a plain INSERT, no guard. Returns rows written.
 */
export async function insertStates(
  em: EntityManager,
  states: Iterable<JobState>,
  table: string,
): Promise<number> {
  const all = [...states];
  let written = 0;
  for (let i = 0; i < all.length; i += CHUNK) {
    written += await run(em, `INSERT INTO ${table} (${COLUMNS}) ${ROWS}`, columnsOf(all.slice(i, i + CHUNK)));
  }
  return written;
}

/** `COALESCE(newer, older)` for a late field, the newer side picked by the ordering key. */
function late(col: string): string {
  return `${col} = CASE WHEN newer THEN COALESCE(EXCLUDED.${col}, t.${col}) ELSE COALESCE(t.${col}, EXCLUDED.${col}) END`;
}

/**
 * The guarded upsert: the rules of `merge` (evolve.ts) in one statement, so that two
 * instances writing the same job at once cannot regress it — each statement sees the
 * row the other committed. Rows whose state would not change are left alone
 * (no version bump); the count of rows written is returned.
 */
function upsertSql(table: string): string {
  // `newer` and `status_wins` are spelled out where used: ON CONFLICT has no WITH for the excluded row
  const newer =
    "(ROW(EXCLUDED.last_event_at, EXCLUDED.last_stream_seq) > ROW(t.last_event_at, t.last_stream_seq))";
  const statusWins = `(ROW((EXCLUDED.status IN ${TERMINAL})::int, EXCLUDED.status_event_at, EXCLUDED.status_stream_seq) > ROW((t.status IN ${TERMINAL})::int, t.status_event_at, t.status_stream_seq))`;
  const lateCols = [
    "model",
    "fine_tuned_model",
    "trained_tokens",
    "error",
    "created_at",
    "finished_at",
    "project",
  ];
  const set = [
    `status = CASE WHEN status_wins THEN EXCLUDED.status ELSE t.status END`,
    `status_event_at = CASE WHEN status_wins THEN EXCLUDED.status_event_at ELSE t.status_event_at END`,
    `status_stream_seq = CASE WHEN status_wins THEN EXCLUDED.status_stream_seq ELSE t.status_stream_seq END`,
    ...lateCols.map(late),
    `last_event_id = CASE WHEN newer THEN EXCLUDED.last_event_id ELSE t.last_event_id END`,
    `last_event_at = CASE WHEN newer THEN EXCLUDED.last_event_at ELSE t.last_event_at END`,
    `last_stream_seq = CASE WHEN newer THEN EXCLUDED.last_stream_seq ELSE t.last_stream_seq END`,
    "version = t.version + 1",
    "updated_at = now()",
  ]
    .join(",\n      ")
    .replaceAll("status_wins", statusWins)
    .replaceAll("newer", newer);
  const fills = lateCols.map((c) => `(t.${c} IS NULL AND EXCLUDED.${c} IS NOT NULL)`).join(" OR ");
  return `INSERT INTO ${table} AS t (${COLUMNS}) ${ROWS}
    ON CONFLICT (openai_job_id) DO UPDATE SET
      ${set}
    WHERE ${newer} OR ${statusWins} OR ${fills}`;
}

/** Applies folded job states to `table` (the live one, or a rebuild beside it). Returns rows written. */
export async function applyStates(
  em: EntityManager,
  states: Iterable<JobState>,
  table = "fine_tune_jobs",
): Promise<number> {
  // one order for every writer: two instances upserting overlapping jobs cannot deadlock
  const sorted = [...states].sort((a, b) =>
    a.openaiJobId < b.openaiJobId ? -1 : a.openaiJobId > b.openaiJobId ? 1 : 0,
  );
  let written = 0;
  for (let i = 0; i < sorted.length; i += CHUNK) {
    written += await run(em, upsertSql(table), columnsOf(sorted.slice(i, i + CHUNK)));
  }
  return written;
}
