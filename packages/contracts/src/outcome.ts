import { z } from "zod";

export const OUTCOME_STATUSES = ["processed", "failed", "ignored", "dead"] as const;
export const OutcomeStatus = z.enum(OUTCOME_STATUSES);
export type OutcomeStatus = z.infer<typeof OutcomeStatus>;

/**
 * The result of one attempt of one handler at one event, published on
 * `outcomes.<handler>.<status>` and folded by the audit into `webhook_events`.
 */
export const Outcome = z.object({
  event_id: z.string().min(1),
  event_type: z.string().min(1),
  handler: z.string().min(1),
  status: OutcomeStatus,
  /** the delivery count of the attempt (1 = first) */
  attempt: z.number().int().positive(),
  error: z.string().nullable(),
  /** ISO-8601 time of the outcome */
  at: z.string(),
  /** sequence of the event in the WEBHOOKS stream, when known */
  stream_seq: z.number().int().nonnegative().nullable(),
  /** true when the attempt came from a replay */
  replay: z.boolean().default(false),
  /**
   * true when the handler did no work because its inbox had the event as handled
   * already (status is then `processed`): a replay without force reports it as
   * "already handled; nothing done". Absent from handlers that predate it.
   */
  skipped: z.boolean().optional(),
});
export type Outcome = z.infer<typeof Outcome>;
