import type { AuditEventStatus, EventSummary } from "@hookstream/contracts";

/** The columns of an EventSummary, for raw SQL over `webhook_events`. */
export const SUMMARY_COLUMNS = `id, event_id, provider, event_type, status, retry_count, error_message, processed_at,
  resource_type, resource_id, webhook_id, stream_seq, subject, created_at, updated_at, project`;

export type SummaryRow = {
  id: string | number;
  event_id: string;
  provider: string;
  event_type: string;
  status: AuditEventStatus;
  retry_count: number;
  error_message: string | null;
  processed_at: Date | string | null;
  resource_type: string | null;
  resource_id: string | null;
  webhook_id: string | null;
  stream_seq: string | number | null;
  subject: string | null;
  created_at: Date | string;
  updated_at: Date | string;
  project: string | null;
};

/** The driver hands timestamps back as strings or Dates, bigints as strings; the API speaks ISO and numbers. */
export function iso(v: Date | string): string;
export function iso(v: Date | string | null): string | null;
export function iso(v: Date | string | null): string | null {
  return v === null ? null : new Date(v).toISOString();
}

export function summaryOf(r: SummaryRow): EventSummary {
  return {
    event_id: r.event_id,
    provider: r.provider,
    event_type: r.event_type,
    status: r.status,
    retry_count: r.retry_count,
    error_message: r.error_message,
    processed_at: iso(r.processed_at),
    resource_type: r.resource_type,
    resource_id: r.resource_id,
    webhook_id: r.webhook_id,
    stream_seq: r.stream_seq === null ? null : Number(r.stream_seq),
    subject: r.subject,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
    project: r.project,
  };
}
