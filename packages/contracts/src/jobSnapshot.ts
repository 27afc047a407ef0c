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
});
export type JobSnapshot = z.infer<typeof JobSnapshot>;
