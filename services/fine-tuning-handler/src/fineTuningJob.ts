import {
  FINE_TUNE_STATUSES,
  type FineTuneJob,
  type FineTuneStatus,
  FineTuningJobData,
  type OpenAIEvent,
} from "@hookstream/contracts";
import { statusFromType } from "@hookstream/handler-kit";

const known = new Set<string>(FINE_TUNE_STATUSES);

function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : null;
}

function str(v: unknown): string | null {
  return typeof v === "string" && v.length > 0 ? v : null;
}

/**
 * The job as the API returned it, reduced to what the projection keeps. A status the
 * API may add later is not dropped: it falls back to what the event type says.
 */
export function jobFromApi(raw: FineTuningJobData, event: OpenAIEvent): FineTuneJob {
  const status =
    raw.status !== undefined && known.has(raw.status) ? (raw.status as FineTuneStatus) : statusOfEvent(event);
  return {
    id: String(raw.id),
    status,
    model: str(raw.model),
    fine_tuned_model: str(raw.fine_tuned_model),
    trained_tokens: num(raw.trained_tokens),
    error: raw.error ?? null,
    created_at: num(raw.created_at),
    finished_at: num(raw.finished_at),
  };
}

/** `fine_tuning.job.succeeded` → `succeeded`; anything unexpected counts as still running. */
export function statusOfEvent(event: Pick<OpenAIEvent, "type">): FineTuneStatus {
  const s = statusFromType(event.type);
  return known.has(s) ? (s as FineTuneStatus) : "running";
}

/** What the webhook alone tells (no API key): the id and the status its type implies. */
export function jobFromWebhook(event: OpenAIEvent): FineTuneJob {
  const data = FineTuningJobData.parse(event.data);
  return {
    id: String(data.id),
    status: statusOfEvent(event),
    model: str(data.model),
    fine_tuned_model: str(data.fine_tuned_model),
    trained_tokens: num(data.trained_tokens),
    error: data.error ?? null,
    created_at: null,
    finished_at: statusOfEvent(event) === "running" ? null : event.created_at,
  };
}

/** The notification: event, job id, status, and what a person wants to know next. */
export function fineTuningNotification(event: OpenAIEvent, job: FineTuneJob) {
  return {
    event_type: event.type,
    event_id: event.id,
    resource_type: "fine_tuning_job",
    resource_id: job.id,
    status: job.status,
    model: job.model,
    fine_tuned_model: job.fine_tuned_model,
    trained_tokens: job.trained_tokens,
    error: job.error,
  };
}
