import { z } from "zod";
import { AuditEventStatus } from "./adminApi";
import { Id, ProviderName, ResourceType } from "./ids";
import { TimeOrDuration } from "./requests";

/**
 * Request and response shapes of the audit's data-lifecycle admin routes: replay
 * (one event, or every event matching a filter) and erasure. The CLI and the
 * console parse responses with these.
 */

/**
 * What the handler said about a single replay:
 * - `processed`, `failed`, `dead`, `ignored`: its outcome for the replayed message;
 * - `skipped`: its inbox had the event as handled already, so nothing was done;
 * - `unconfirmed`: no outcome arrived within the wait (the handler is slow or down;
 *   the message stays on its replay durable and runs when it comes back);
 * - `no_handler`: the handler's replay durable does not exist yet (it never started),
 *   so nobody was waited for.
 */
export const REPLAY_VERDICTS = [
  "processed",
  "skipped",
  "failed",
  "dead",
  "ignored",
  "unconfirmed",
  "no_handler",
] as const;
export const ReplayVerdict = z.enum(REPLAY_VERDICTS);
export type ReplayVerdict = z.infer<typeof ReplayVerdict>;

/** `POST /admin/replay/:event_id` */
export const SingleReplayResult = z.object({
  event_id: z.string(),
  event_type: z.string(),
  handler: z.string(),
  subject: z.string(),
  /** sequence of the replay message in WEBHOOK_REPLAYS */
  replay_seq: z.number().int(),
  force: z.boolean(),
  verdict: ReplayVerdict,
  /** the handler's error when the verdict is failed, dead or ignored */
  error: z.string().nullable(),
});
export type SingleReplayResult = z.infer<typeof SingleReplayResult>;

/**
 * The most events a second a bulk replay may republish to one handler. One bulk replay
 * per handler runs at a time across every admin instance (409 `replay_running`), so this
 * is the ceiling of what replays add to a handler's load: each replay may call OpenAI and
 * notify receivers again. The default pace is 50/s.
 */
export const MAX_REPLAY_RATE = 200;

/** `POST /admin/replay`: the filter (every field but handler narrows it). */
export const BulkReplayRequest = z.object({
  handler: z.string().min(1),
  type: z.string().min(1).optional(),
  status: AuditEventStatus.optional(),
  /** ISO-8601 or a duration back from now (`30m`, `2h`, `7d`) */
  since: TimeOrDuration.optional(),
  until: TimeOrDuration.optional(),
  /** `<resource type>:<resource id>`, e.g. `fine_tuning_job:ftjob-abc` */
  resource: z.string().min(3).optional(),
  /** most events republished per second (default 50, at most MAX_REPLAY_RATE) */
  rate: z.number().int().min(1).max(MAX_REPLAY_RATE).optional(),
  dryRun: z.boolean().optional(),
  force: z.boolean().optional(),
});
export type BulkReplayRequest = z.infer<typeof BulkReplayRequest>;

/** One NDJSON line of the streamed `POST /admin/replay` answer while it runs. */
export const BulkReplayProgress = z.object({
  phase: z.literal("replay"),
  /** events matching the filter when the run started */
  matched: z.number().int(),
  replayed: z.number().int(),
  /** matching events whose message is no longer in WEBHOOKS (max age, erasure) */
  missing: z.number().int(),
  /** events per second so far */
  rate: z.number(),
});
export type BulkReplayProgress = z.infer<typeof BulkReplayProgress>;

/** The last NDJSON line (`{ "result": … }`), also the whole answer of a dry run. */
export const BulkReplaySummary = z.object({
  handler: z.string(),
  dry_run: z.boolean(),
  force: z.boolean(),
  matched: z.number().int(),
  replayed: z.number().int(),
  missing: z.number().int(),
  /** of the matched events, how many the handler's inbox has as handled (it will skip them unless force) */
  already_handled: z.number().int().nullable(),
  ms: z.number().int(),
});
export type BulkReplaySummary = z.infer<typeof BulkReplaySummary>;

/** `POST /admin/erase`: one event, or every event of one resource. */
export const EraseEvent = z
  .object({
    eventId: Id,
    /** the event's sender; without it the id alone must name one event (else 409 ambiguous_event_id) */
    provider: ProviderName.optional(),
    dryRun: z.boolean().optional(),
  })
  .strict();
export const EraseResource = z
  .object({ resourceType: ResourceType, resourceId: Id, dryRun: z.boolean().optional() })
  .strict();
/**
 * `POST /admin/erase`: one event, or every event of one resource. Each id is one
 * subject token (contracts' Id): a resource id of `>` would otherwise reach the
 * stream scan as `fine_tuning.jobs.>` and match every job.
 */
export const EraseRequest = z.union([EraseEvent, EraseResource]);
export type EraseRequest = z.infer<typeof EraseRequest>;

/** What one erasure removed (or, dry, would remove), store by store. */
export const ErasureCounts = z.object({
  webhook_events: z.number().int(),
  /** messages in WEBHOOKS */
  webhooks: z.number().int(),
  /** copies republished by replays (WEBHOOK_REPLAYS) */
  replays: z.number().int(),
  dlq: z.number().int(),
  outcomes: z.number().int(),
  fine_tuning: z.number().int(),
  /** rows per handler inbox (`inbox_<handler>`) */
  inbox: z.record(z.string(), z.number().int()),
  fine_tune_jobs: z.number().int(),
  /** the console's attempt timeline (`webhook_attempts`) */
  webhook_attempts: z.number().int(),
  /** the notification delivery log: `webhook_deliveries` rows and WEBHOOK_DELIVERIES messages */
  webhook_deliveries: z.number().int(),
  deliveries: z.number().int(),
  /** the handlers' notifications of the event on NOTIFICATIONS (what the delivery service sends) */
  notifications: z.number().int().default(0),
});
export type ErasureCounts = z.infer<typeof ErasureCounts>;

export const ErasureResult = z.object({
  dry_run: z.boolean(),
  target: z.union([
    z.object({ event_id: z.string(), provider: z.string().optional() }),
    z.object({ resource_type: z.string(), resource_id: z.string() }),
  ]),
  event_ids: z.array(z.string()),
  counts: ErasureCounts,
  /** id of the row in `erasures`; null for a dry run */
  erasure_id: z.number().int().nullable(),
  actor: z.string(),
  at: z.string(),
  /** stores whose scan hit its bound: run the erasure again to continue */
  truncated: z.array(z.string()),
  /** an event of a fine-tuning job was erased but the job was not: rebuild the projection */
  rebuild_advised: z.boolean(),
});
export type ErasureResult = z.infer<typeof ErasureResult>;
