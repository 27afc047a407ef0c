import type { EntityManager } from "@mikro-orm/postgresql";
import type { JobState } from "./evolve";

const COLUMNS =
  "openai_job_id, status, model, fine_tuned_model, trained_tokens, error, created_at, finished_at, last_event_id, last_event_at, last_stream_seq, status_event_at, status_stream_seq";
const TERMINAL = "('succeeded', 'failed', 'cancelled')";
/** rows per statement: 13 parameters each, far below Postgres' 65535 */
const CHUNK = 2_000;

function valuesOf(s: JobState): unknown[] {
  return [
    s.openaiJobId,
    s.status,
    s.model,
    s.fineTunedModel,
    s.trainedTokens,
    s.error === null || s.error === undefined ? null : JSON.stringify(s.error),
    s.createdAt,
    s.finishedAt,
    s.lastEventId,
    s.lastEventAt,
    s.lastStreamSeq,
    s.statusEventAt,
    s.statusStreamSeq,
  ];
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
function upsertSql(table: string, rows: number): string {
  const placeholders = Array.from(
    { length: rows },
    () =>
      "(?, ?, ?, ?, ?, ?::jsonb, to_timestamp(?), to_timestamp(?), ?, to_timestamp(?), ?, to_timestamp(?), ?)",
  ).join(", ");
  // `newer` and `status_wins` are spelled out where used: ON CONFLICT has no WITH for the excluded row
  const newer =
    "(ROW(EXCLUDED.last_event_at, EXCLUDED.last_stream_seq) > ROW(t.last_event_at, t.last_stream_seq))";
  const statusWins = `(ROW((EXCLUDED.status IN ${TERMINAL})::int, EXCLUDED.status_event_at, EXCLUDED.status_stream_seq) > ROW((t.status IN ${TERMINAL})::int, t.status_event_at, t.status_stream_seq))`;
  const lateCols = ["model", "fine_tuned_model", "trained_tokens", "error", "created_at", "finished_at"];
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
  return `INSERT INTO ${table} AS t (${COLUMNS}) VALUES ${placeholders}
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
    const chunk = sorted.slice(i, i + CHUNK);
    const res = await em
      .getConnection()
      .execute(upsertSql(table, chunk.length), chunk.flatMap(valuesOf), "run");
    written += (res as { affectedRows?: number }).affectedRows ?? 0;
  }
  return written;
}
