import { z } from "zod";
import { AUDIT_EVENT_STATUSES } from "./adminApi";
import { HANDLER_NAMES } from "./handlers";
import { Id, ProviderName } from "./ids";
import { FineTuneStatus } from "./jobSnapshot";
import { OPENAI_PROJECT_NAME_PATTERN } from "./openaiProjects";

/**
 * What each route takes — its params, query and body — as zod values: the services
 * validate every request with these before any work (a bad one is 400
 * `invalid_<parameter>`), each service's `/openapi.json` is generated from them, and the
 * CLI and the console check what they send with the same values. Bodies of replay and
 * erasure are in dataLifecycleApi.ts, of destinations in destinations.ts. They are strict:
 * a parameter a route does not take (`?from=…` on the search) is refused, not ignored.
 */

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The furthest back a duration may reach: a century (a Date holds ±273,790 years). */
const MAX_DURATION_MS = 100 * 365 * UNIT_MS.d;

/** Years a time may be in: what Postgres, JetStream and `toISOString` all take. */
const MIN_TIME_MS = Date.UTC(1, 0, 1);
const MAX_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * `since` / `until` as the admin API and the CLI take them: an ISO-8601 time, or a
 * duration back from now (`30m`, `2h`, `7d`). Null when it is neither, or reaches outside
 * the years any store takes (`100000001d` is 274,000 years back: no Date holds it).
 */
export function parseSince(value: string, nowMs: number): Date | null {
  const rel = /^(\d{1,12})([smhd])$/.exec(value.trim());
  if (rel) {
    const back = Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS];
    return back > MAX_DURATION_MS ? null : new Date(nowMs - back);
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) return null;
  const t = Date.parse(value.trim());
  return Number.isNaN(t) || t < MIN_TIME_MS || t > MAX_TIME_MS ? null : new Date(t);
}

/** A time or a duration back from now (parseSince), checked for its shape and range. */
export const TimeOrDuration = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .refine(
    (v) => parseSince(v, Date.now()) !== null,
    "an ISO-8601 time (years 1 to 9999) or a duration back from now like 30m, 2h, 7d (at most 100 years)",
  );

/** An event type as a filter: dotted words (`fine_tuning.job.succeeded`). */
export const EventTypeFilter = z
  .string()
  .trim()
  .max(200)
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "an event type: dotted words, e.g. batch.completed");

/** A handler's name (the catalog's). */
export const HandlerNameParam = z.enum(HANDLER_NAMES as [string, ...string[]], {
  error: `one of ${HANDLER_NAMES.join(", ")}`,
});

/** An OpenAI project's name (OPENAI_PROJECTS) as a filter. */
export const ProjectFilter = z
  .string()
  .trim()
  .regex(OPENAI_PROJECT_NAME_PATTERN, "an OpenAI project's name: lowercase letters, digits, '_' and '-'");

/** A page size: a whole number from 1 to `max`; a query gives it as text. */
function limit(max: number, fallback: number) {
  return z.coerce
    .number({ error: `a whole number from 1 to ${max}` })
    .int(`a whole number from 1 to ${max}`)
    .min(1, `a whole number from 1 to ${max}`)
    .max(max, `a whole number from 1 to ${max}`)
    .default(fallback);
}

// ---- cursors: base64url text, in Node and in the browser alike -------------------

function toBase64Url(text: string): string {
  let binary = "";
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The text of a base64url string, or null when it is not one. */
function fromBase64Url(value: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(value)) return null;
  try {
    const binary = atob(value.replaceAll("-", "+").replaceAll("_", "/"));
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return null;
  }
}

// ---- events ----------------------------------------------------------------

/** The largest `webhook_events.id` (a Postgres bigint): a cursor past it is not one we gave out. */
const MAX_BIGINT = 9_223_372_036_854_775_807n;

export function encodeEventCursor(id: string | number | bigint): string {
  return toBase64Url(String(id));
}

/** The row id an event cursor stands for, or null when it is not one this API gave out. */
export function decodeEventCursor(cursor: string): string | null {
  const id = fromBase64Url(cursor);
  if (id === null || !/^\d{1,19}$/.test(id) || BigInt(id) > MAX_BIGINT || BigInt(id) < 1n) return null;
  return id;
}

const EventCursor = z
  .string()
  .max(100)
  .refine((c) => decodeEventCursor(c) !== null, "not a cursor this API gave out (next_cursor of a page)");

/** `GET /admin/events`: the newest rows, filtered. */
export const EventListQuery = z.strictObject({
  status: z.enum(AUDIT_EVENT_STATUSES).optional(),
  type: EventTypeFilter.optional(),
  project: ProjectFilter.optional(),
  limit: limit(1_000, 50),
});
export type EventListQuery = z.infer<typeof EventListQuery>;

/** The filters of `GET /admin/events/live` (the search's, without paging). */
export const EventLiveQuery = z.strictObject({
  /** an event id or a resource id, matched exactly */
  q: z.string().trim().max(500).optional(),
  status: z.enum(AUDIT_EVENT_STATUSES).optional(),
  type: EventTypeFilter.optional(),
  project: ProjectFilter.optional(),
  /** on created_at: ISO-8601 or a duration back from now */
  since: TimeOrDuration.optional(),
  until: TimeOrDuration.optional(),
});
export type EventLiveQuery = z.infer<typeof EventLiveQuery>;

/** `GET /admin/events/search`: newest first, keyset-paginated (`cursor` = a page's `next_cursor`). */
export const EventSearchQuery = EventLiveQuery.extend({
  limit: limit(500, 50),
  cursor: EventCursor.optional(),
});
export type EventSearchQuery = z.infer<typeof EventSearchQuery>;

// ---- dead letters ----------------------------------------------------------

/** `GET /admin/dlq` (query) and `POST /admin/dlq/replay` (body): which dead letters. */
export const DlqQuery = z.strictObject({
  handler: HandlerNameParam.optional(),
  type: EventTypeFilter.optional(),
  /** stored at or after: ISO-8601 or a duration back from now */
  since: TimeOrDuration.optional(),
  limit: limit(10_000, 1_000),
});
export type DlqQuery = z.infer<typeof DlqQuery>;

/** `POST /admin/dlq/redrive`: the dead letters the operator picked, by their DLQ sequence. */
export const DlqRedriveRequest = z.strictObject({
  seqs: z.array(z.number().int().positive()).min(1).max(1_000),
});
export type DlqRedriveRequest = z.infer<typeof DlqRedriveRequest>;

// ---- single replay ---------------------------------------------------------

/** How long a single replay waits for the handler's outcome by default. */
export const DEFAULT_VERDICT_WAIT_MS = 5_000;

/** `POST /admin/replay/:event_id`. */
export const SingleReplayRequest = z.strictObject({
  /** the handler to replay to; default the one that takes the event's type */
  handler: HandlerNameParam.optional(),
  /** the event's sender; without it the id alone must name one event */
  provider: ProviderName.optional(),
  force: z.boolean().default(false),
  /** how long to wait for the handler's verdict (0: do not wait) */
  waitMs: z.number().int().min(0).max(30_000).default(DEFAULT_VERDICT_WAIT_MS),
});
export type SingleReplayRequest = z.infer<typeof SingleReplayRequest>;

// ---- fine-tuning jobs -------------------------------------------------------

/** Seconds a job cursor's time may be: years 1 to 9999 (what `to_timestamp` and a Date take). */
const MIN_CURSOR_SEC = MIN_TIME_MS / 1000;
const MAX_CURSOR_SEC = MAX_TIME_MS / 1000;

/** Opaque job cursor: the sort key of the last row of a page (created_at seconds, job id). */
export function encodeJobCursor(createdAtSec: number, id: string): string {
  return toBase64Url(JSON.stringify([createdAtSec, id]));
}

/** The sort key a job cursor stands for, or null when it is not one this API gave out. */
export function decodeJobCursor(cursor: string): [number, string] | null {
  try {
    const v = JSON.parse(fromBase64Url(cursor) ?? "null");
    if (
      Array.isArray(v) &&
      v.length === 2 &&
      typeof v[0] === "number" &&
      v[0] >= MIN_CURSOR_SEC &&
      v[0] <= MAX_CURSOR_SEC &&
      typeof v[1] === "string" &&
      Id.safeParse(v[1]).success
    ) {
      return [v[0], v[1]];
    }
  } catch {
    // not base64url JSON
  }
  return null;
}

/** `GET /fine-tune-jobs` (console: `/api/jobs`): newest first, keyset-paginated. */
export const JobListQuery = z.strictObject({
  status: FineTuneStatus.optional(),
  model: z.string().min(1).max(200).optional(),
  project: ProjectFilter.optional(),
  limit: limit(200, 50),
  cursor: z
    .string()
    .max(500)
    .refine((c) => decodeJobCursor(c) !== null, "not a cursor this API gave out (next_cursor of a page)")
    .optional(),
});
export type JobListQuery = z.infer<typeof JobListQuery>;

// ---- gateway (documentation: the gateway checks these itself, after the signature) ----

/** `POST /webhooks/:provider` */
export const WebhookProviderParams = z.object({
  provider: z.string().describe("a WEBHOOK_PROVIDERS name (another answers 404 unknown_provider)"),
});

/** `POST /webhooks/openai/:project` */
export const WebhookProjectParams = z.object({
  project: z.string().describe("an OPENAI_PROJECTS name (another answers 404 unknown_project)"),
});

/** The Standard Webhooks headers every webhook carries, signed with the provider's secret. */
export const WebhookHeaders = z.object({
  "webhook-id": Id.describe("the sender's message id (the dedup key unless the body has an event id)"),
  "webhook-timestamp": z.string().regex(/^\d+$/).describe("seconds since the epoch, within the tolerance"),
  "webhook-signature": z.string().describe("`v1,<base64 HMAC-SHA256>` entries, space-separated"),
});

/** The event envelope as the gateway reads it (OpenAI's; another provider's per its `envelope`). */
export const WebhookEnvelope = z
  .object({
    id: z.string().optional(),
    type: z.string().optional(),
    created_at: z.number().optional(),
    data: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
