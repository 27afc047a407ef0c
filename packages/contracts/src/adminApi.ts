import { z } from "zod";
import { DeliveryRecord } from "./delivery";
import { OutcomeStatus } from "./outcome";

/**
 * Response shapes of the audit's admin API (`/admin/*`) and of the fine-tune job
 * API as the console reads it (`/api/jobs*`, proxied by the audit). The console
 * parses every response with these; the CLI imports the same values.
 * Times are ISO-8601 strings.
 */

export const AUDIT_EVENT_STATUSES = ["pending", "processed", "failed", "ignored", "dead"] as const;
export const AuditEventStatus = z.enum(AUDIT_EVENT_STATUSES);
export type AuditEventStatus = z.infer<typeof AuditEventStatus>;

/** Every error body: `{ error, message }`. */
export const AdminError = z.object({ error: z.string(), message: z.string() });
export type AdminError = z.infer<typeof AdminError>;

/** One `webhook_events` row without its body and headers (lists, live feed). */
export const EventSummary = z.object({
  event_id: z.string(),
  /** the sender (`openai`, or a WEBHOOK_PROVIDERS name): an event is its provider and its id together */
  provider: z.string(),
  event_type: z.string(),
  status: AuditEventStatus,
  retry_count: z.number().int(),
  error_message: z.string().nullable(),
  processed_at: z.string().nullable(),
  resource_type: z.string().nullable(),
  resource_id: z.string().nullable(),
  webhook_id: z.string().nullable(),
  stream_seq: z.number().int().nullable(),
  subject: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  /** the OpenAI project whose secret verified it; null for another provider or an older row */
  project: z.string().nullable().optional(),
});
export type EventSummary = z.infer<typeof EventSummary>;

/** `GET /admin/events` (newest first, no paging). */
export const EventList = z.object({ events: z.array(EventSummary) });
export type EventList = z.infer<typeof EventList>;

/** `GET /admin/events/search`: newest first; `next_cursor` asks for the page after this one. */
export const EventPage = z.object({
  events: z.array(EventSummary),
  next_cursor: z.string().nullable(),
});
export type EventPage = z.infer<typeof EventPage>;

/** One handler attempt at one event, as its outcome reported it. */
export const EventAttempt = z.object({
  handler: z.string(),
  status: OutcomeStatus,
  /** the delivery count (1 = first) */
  attempt: z.number().int(),
  error: z.string().nullable(),
  /** when the handler finished the attempt */
  at: z.string(),
  /** true when the attempt came from a replay or a redrive */
  replay: z.boolean(),
  /** true when the handler found the event handled already (its inbox) and did nothing */
  skipped: z.boolean(),
});
export type EventAttempt = z.infer<typeof EventAttempt>;

/** One outbound notification attempt for one event (`webhook_deliveries`). */
export const EventDelivery = DeliveryRecord.omit({ event_id: true, event_type: true });
export type EventDelivery = z.infer<typeof EventDelivery>;

/** `GET /admin/events/:event_id/deliveries`: every notification attempt, oldest first. */
export const EventDeliveries = z.object({ deliveries: z.array(EventDelivery) });
export type EventDeliveries = z.infer<typeof EventDeliveries>;

/** `GET /admin/events/:event_id`: the row, its body and headers, and every attempt, oldest first. */
export const EventDetail = EventSummary.extend({
  timestamp: z.string().nullable(),
  signature: z.string().nullable(),
  headers: z.record(z.string(), z.string()).nullable(),
  payload: z.unknown(),
  metadata: z.record(z.string(), z.unknown()),
  attempts: z.array(EventAttempt),
  /** every outbound notification attempt, oldest first */
  deliveries: z.array(EventDelivery).optional(),
});
export type EventDetail = z.infer<typeof EventDetail>;

/** `GET /admin/stats`: counts of all rows, and rows received per minute over the last hour. */
export const EventStats = z.object({
  total: z.number().int(),
  by_status: z.record(z.string(), z.number().int()),
  by_type: z.record(z.string(), z.number().int()),
  /** 60 entries, oldest first, minutes without events included (count 0) */
  per_minute: z.array(z.object({ minute: z.string(), count: z.number().int() })),
});
export type EventStats = z.infer<typeof EventStats>;

/** One dead letter (`WEBHOOK_DLQ`). */
export const DlqEntry = z.object({
  seq: z.number().int(),
  subject: z.string(),
  handler: z.string(),
  event_type: z.string(),
  event_id: z.string().nullable(),
  attempts: z.number().int().nullable(),
  error: z.string().nullable(),
  dead_at: z.string().nullable(),
  original_subject: z.string().nullable(),
  original_seq: z.number().int().nullable(),
  stored_at: z.string(),
});
export type DlqEntry = z.infer<typeof DlqEntry>;

/** `GET /admin/dlq`: oldest first. */
export const DlqList = z.object({ count: z.number().int(), messages: z.array(DlqEntry) });
export type DlqList = z.infer<typeof DlqList>;

/** A dead letter a redrive could not route, left in the DLQ, and why. */
export const DlqLeftEntry = DlqEntry.extend({ reason: z.string() });
export type DlqLeftEntry = z.infer<typeof DlqLeftEntry>;

/**
 * `POST /admin/dlq/replay` (all matching) and `POST /admin/dlq/redrive` (by seq):
 * `messages` were republished to a consumer that takes them and removed from the DLQ;
 * `left` stayed in the DLQ (nothing consumes their redrive: an unknown handler, a
 * destination no delivery instance has configured).
 */
export const DlqRedriveResult = z.object({
  replayed: z.number().int(),
  messages: z.array(DlqEntry),
  left: z.array(DlqLeftEntry).default([]),
});
export type DlqRedriveResult = z.infer<typeof DlqRedriveResult>;

// `POST /admin/replay/:event_id` answers `SingleReplayResult` (dataLifecycleApi.ts).

/** One `fine_tune_jobs` row as the job API gives it. */
export const FineTuneJobView = z.object({
  id: z.string(),
  status: z.string(),
  model: z.string().nullable(),
  fine_tuned_model: z.string().nullable(),
  trained_tokens: z.number().nullable(),
  error: z.unknown(),
  created_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  last_event_id: z.string(),
  last_event_at: z.string(),
  version: z.number().int(),
  /** the OpenAI project of the job's events (its key enriched them); null when unknown */
  project: z.string().nullable().optional(),
});
export type FineTuneJobView = z.infer<typeof FineTuneJobView>;

/** `GET /fine-tune-jobs` (console: `/api/jobs`): newest first, keyset-paginated. */
export const FineTuneJobPage = z.object({
  data: z.array(FineTuneJobView),
  next_cursor: z.string().nullable(),
});
export type FineTuneJobPage = z.infer<typeof FineTuneJobPage>;

/** One snapshot of a job in `FINE_TUNING`, oldest first. */
export const FineTuneJobHistoryEntry = z.object({
  seq: z.number().int(),
  event_id: z.string(),
  event_type: z.string(),
  event_created_at: z.number().nullable(),
  source: z.string(),
  status: z.string(),
});
export type FineTuneJobHistoryEntry = z.infer<typeof FineTuneJobHistoryEntry>;

/** `GET /fine-tune-jobs/:id` (console: `/api/jobs/:id`). */
export const FineTuneJobDetail = FineTuneJobView.extend({ history: z.array(FineTuneJobHistoryEntry) });
export type FineTuneJobDetail = z.infer<typeof FineTuneJobDetail>;
