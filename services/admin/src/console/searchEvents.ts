import {
  decodeEventCursor,
  type EventLiveQuery,
  type EventPage,
  type EventSummary,
  encodeEventCursor,
  parseSince,
} from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";
import { BadRequestError } from "../admin/adminErrors";
import { SUMMARY_COLUMNS, type SummaryRow, summaryOf } from "./eventSummary";

/** A search with its times resolved: what both the page query and the live feed filter on. */
export interface EventFilter {
  q?: string;
  status?: string;
  type?: string;
  project?: string;
  since?: Date;
  until?: Date;
}

export function eventFilterOf(q: EventLiveQuery, nowMs: number): EventFilter {
  const time = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const t = parseSince(value, nowMs);
    if (!t)
      throw new BadRequestError(
        `${name} "${value}" is neither an ISO-8601 time nor a duration like 30m`,
        `invalid_${name}`,
      );
    return t;
  };
  return {
    q: q.q || undefined,
    status: q.status,
    type: q.type,
    project: q.project,
    since: time("since", q.since),
    until: time("until", q.until),
  };
}

/** The filter as a predicate over a row (the live feed applies it to rows it pushes). */
export function matchesFilter(f: EventFilter, e: EventSummary): boolean {
  if (f.q !== undefined && e.event_id !== f.q && e.resource_id !== f.q) return false;
  if (f.status !== undefined && e.status !== f.status) return false;
  if (f.type !== undefined && e.event_type !== f.type) return false;
  if (f.project !== undefined && e.project !== f.project) return false;
  const at = Date.parse(e.created_at);
  if (f.since !== undefined && at < f.since.getTime()) return false;
  if (f.until !== undefined && at > f.until.getTime()) return false;
  return true;
}

function decodeCursor(cursor: string): string {
  const id = decodeEventCursor(cursor);
  if (id === null) throw new BadRequestError("cursor is not one this API gave out", "invalid_cursor");
  return id;
}

/**
 * Newest first (by insertion order, the primary key), keyset-paginated: a page
 * ends with the cursor of its last row, and the next page starts below it, so
 * rows arriving meanwhile never shift or repeat a page.
 */
export async function searchEvents(
  em: EntityManager,
  filter: EventFilter,
  page: { limit: number; cursor?: string },
): Promise<EventPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.q !== undefined) {
    // two exact matches, each served by its own index (event_id unique, resource_id)
    where.push("(event_id = ? OR resource_id = ?)");
    params.push(filter.q, filter.q);
  }
  if (filter.status !== undefined) {
    where.push("status = ?");
    params.push(filter.status);
  }
  if (filter.type !== undefined) {
    where.push("event_type = ?");
    params.push(filter.type);
  }
  if (filter.project !== undefined) {
    // served by webhook_events_project_idx (project, id): the page is the newest ids of the project
    where.push("project = ?");
    params.push(filter.project);
  }
  if (filter.since !== undefined) {
    where.push("created_at >= ?");
    params.push(filter.since);
  }
  if (filter.until !== undefined) {
    where.push("created_at <= ?");
    params.push(filter.until);
  }
  if (page.cursor !== undefined) {
    where.push("id < ?");
    params.push(decodeCursor(page.cursor));
  }
  params.push(page.limit + 1);
  const rows = await em
    .getConnection()
    .execute<SummaryRow[]>(
      `SELECT ${SUMMARY_COLUMNS} FROM webhook_events ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT ?`,
      params,
    );
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    events: shown.map(summaryOf),
    next_cursor: rows.length > page.limit && last ? encodeEventCursor(last.id) : null,
  };
}
