import {
  decodeJobCursor,
  encodeJobCursor,
  type FineTuneJobPage,
  type FineTuneJobView,
  type JobListQuery,
} from "@hookstream/contracts";
import { BadRequestError } from "@hookstream/runtime";
import type { EntityManager } from "@mikro-orm/postgresql";

export type ListQuery = JobListQuery;

export class BadCursorError extends BadRequestError {
  override readonly name: string = "BadCursorError";
}

/** Opaque cursor: the sort key of the last row of a page (created_at seconds, job id). */
export const encodeCursor = encodeJobCursor;

export function decodeCursor(cursor: string): [number, string] {
  const key = decodeJobCursor(cursor);
  if (key === null) throw new BadCursorError("cursor is not one this API gave out", "invalid_cursor");
  return key;
}

const SELECT = `SELECT openai_job_id, status, model, fine_tuned_model, trained_tokens, error, created_at, finished_at,
  last_event_id, last_event_at, version, project, EXTRACT(EPOCH FROM COALESCE(created_at, 'epoch'::timestamptz))::float8 AS sort_at
  FROM fine_tune_jobs`;

type Row = {
  openai_job_id: string;
  status: string;
  model: string | null;
  fine_tuned_model: string | null;
  trained_tokens: string | number | null;
  error: unknown;
  created_at: Date | string | null;
  finished_at: Date | string | null;
  last_event_id: string;
  last_event_at: Date | string;
  version: number;
  project: string | null;
  sort_at: number;
};

/** MikroORM's driver hands timestamps back as strings; the API speaks ISO-8601. */
function iso(v: Date | string | null): string | null {
  return v === null ? null : new Date(v).toISOString();
}

function toJson(r: Row): FineTuneJobView {
  return {
    id: r.openai_job_id,
    status: r.status,
    model: r.model,
    fine_tuned_model: r.fine_tuned_model,
    trained_tokens: r.trained_tokens === null ? null : Number(r.trained_tokens),
    error: r.error ?? null,
    created_at: iso(r.created_at),
    finished_at: iso(r.finished_at),
    last_event_id: r.last_event_id,
    last_event_at: iso(r.last_event_at) ?? "",
    version: r.version,
    project: r.project,
  };
}

/** Newest first (created_at, then id), keyset-paginated so pages stay stable while jobs change. */
export async function listJobs(em: EntityManager, q: ListQuery): Promise<FineTuneJobPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.status) {
    where.push("status = ?");
    params.push(q.status);
  }
  if (q.model) {
    where.push("model = ?");
    params.push(q.model);
  }
  if (q.project) {
    where.push("project = ?");
    params.push(q.project);
  }
  if (q.cursor) {
    const [at, id] = decodeCursor(q.cursor);
    where.push("(COALESCE(created_at, 'epoch'::timestamptz), openai_job_id) < (to_timestamp(?), ?)");
    params.push(at, id);
  }
  const sql = `${SELECT} ${where.length ? `WHERE ${where.join(" AND ")}` : ""}
    ORDER BY COALESCE(created_at, 'epoch'::timestamptz) DESC, openai_job_id DESC LIMIT ?`;
  params.push(q.limit + 1);
  const rows = await em.getConnection().execute<Row[]>(sql, params);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    data: page.map(toJson),
    next_cursor: rows.length > q.limit && last ? encodeCursor(last.sort_at, last.openai_job_id) : null,
  };
}

export async function getJob(em: EntityManager, id: string): Promise<FineTuneJobView | null> {
  const rows = await em.getConnection().execute<Row[]>(`${SELECT} WHERE openai_job_id = ?`, [id]);
  return rows[0] ? toJson(rows[0]) : null;
}
