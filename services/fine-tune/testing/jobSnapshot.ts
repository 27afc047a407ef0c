import type { FineTuneStatus, JobSnapshot } from "@hookstream/contracts";

/** One snapshot of a job as the fine-tuning handler records it from a webhook alone. */
export function jobSnapshot(
  jobId: string,
  eventId: string,
  opts: { status?: FineTuneStatus; eventAt?: number; job?: Partial<JobSnapshot["job"]> } = {},
): JobSnapshot {
  const status = opts.status ?? "running";
  return {
    event_id: eventId,
    event_type: `fine_tuning.job.${status}`,
    event_created_at: opts.eventAt ?? 1_750_000_000,
    source: "webhook",
    job: {
      id: jobId,
      status,
      model: "gpt-4o-mini",
      fine_tuned_model: null,
      trained_tokens: null,
      error: null,
      created_at: 1_750_000_000,
      finished_at: null,
      ...opts.job,
    },
  };
}
