import { z } from "zod";

export const FINE_TUNE_STATUSES = [
  "validating_files",
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
] as const;
export const FineTuneStatus = z.enum(FINE_TUNE_STATUSES);
export type FineTuneStatus = z.infer<typeof FineTuneStatus>;

export const TERMINAL_FINE_TUNE_STATUSES: ReadonlySet<FineTuneStatus> = new Set([
  "succeeded",
  "failed",
  "cancelled",
]);

/** What a fine-tuning job looked like when an event about it was handled. */
export const FineTuneJob = z.object({
  id: z.string().min(1),
  status: FineTuneStatus,
  model: z.string().nullable(),
  fine_tuned_model: z.string().nullable(),
  trained_tokens: z.number().int().nullable(),
  error: z.unknown().nullable(),
  /** unix seconds */
  created_at: z.number().int().nullable(),
  /** unix seconds */
  finished_at: z.number().int().nullable(),
});
export type FineTuneJob = z.infer<typeof FineTuneJob>;

/**
 * One message on `fine_tuning.jobs.<job id>` (stream FINE_TUNING): the job
 * snapshot the fine-tuning handler saw for one webhook event. The projection
 * `fine_tune_jobs` is a fold of these.
 */
export const JobSnapshot = z.object({
  event_id: z.string().min(1),
  event_type: z.string().min(1),
  /** the event's `created_at`, unix seconds: the first ordering key */
  event_created_at: z.number().int(),
  /** `api` when fetched from OpenAI, `webhook` when built from the event alone */
  source: z.enum(["api", "webhook"]),
  job: FineTuneJob,
  /**
   * the OpenAI project of the event (its `Openai-Project` header), whose key fetched the
   * job; absent from snapshots recorded before projects were (docs/openai-projects.md)
   */
  project: z.string().min(1).nullable().optional(),
});
export type JobSnapshot = z.infer<typeof JobSnapshot>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);
const isInt = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v);
const isText = (v: unknown) => typeof v === "string" && v.length > 0;
const textOrNull = (v: unknown) => v === null || typeof v === "string";
const intOrNull = (v: unknown) => v === null || isInt(v);
const STATUSES: ReadonlySet<unknown> = new Set(FINE_TUNE_STATUSES);

/**
 * `JobSnapshot.safeParse(v).success`, checked by hand (property-tested against the
 * schema in jobSnapshot.unit.spec.ts) and without the copy zod makes: a rebuild checks
 * every snapshot of the stream, and the schema's parse was a fifth of its replay.
 * Unknown keys are left in place (the fold reads only the schema's fields).
 */
export function isJobSnapshot(v: unknown): v is JobSnapshot {
  if (!isRecord(v)) return false;
  const job = v.job;
  return (
    isText(v.event_id) &&
    isText(v.event_type) &&
    isInt(v.event_created_at) &&
    (v.source === "api" || v.source === "webhook") &&
    (v.project === undefined || v.project === null || isText(v.project)) &&
    isRecord(job) &&
    isText(job.id) &&
    STATUSES.has(job.status) &&
    textOrNull(job.model) &&
    textOrNull(job.fine_tuned_model) &&
    intOrNull(job.trained_tokens) &&
    // z.unknown().nullable(): any value, but the key must be there
    "error" in job &&
    intOrNull(job.created_at) &&
    intOrNull(job.finished_at)
  );
}
