import { AUDIT_EVENT_STATUSES, type AuditEventStatus } from "@hookstream/contracts";
import { defineEntity, type InferEntity } from "@mikro-orm/core";

export const AUDIT_STATUSES = AUDIT_EVENT_STATUSES;
export type AuditStatus = AuditEventStatus;

/**
 * One row per event, a provider and its id (contract table `webhook_events`). A row whose
 * `subject` is null is a placeholder made by an outcome that arrived before the
 * event itself; the insert from WEBHOOKS completes it and keeps its status.
 */
export const WebhookEvent = defineEntity({
  name: "WebhookEvent",
  tableName: "webhook_events",
  properties: (p) => ({
    id: p.bigint("number").primary().autoincrement(),
    // unique with provider (the migration's index): an event is its provider and its id
    eventId: p.text().fieldName("event_id"),
    provider: p.text(),
    eventType: p.text().fieldName("event_type"),
    webhookId: p.text().fieldName("webhook_id").nullable(),
    timestamp: p.datetime().columnType("timestamptz").nullable(),
    signature: p.text().nullable(),
    headers: p.json<Record<string, string>>().columnType("jsonb").nullable(),
    payload: p.json<unknown>().columnType("jsonb").nullable(),
    status: p.enum([...AUDIT_STATUSES]).columnType("text"),
    processedAt: p.datetime().fieldName("processed_at").columnType("timestamptz").nullable(),
    errorMessage: p.text().fieldName("error_message").nullable(),
    metadata: p.json<Record<string, unknown>>().columnType("jsonb"),
    retryCount: p.integer().fieldName("retry_count"),
    resourceType: p.text().fieldName("resource_type").nullable(),
    resourceId: p.text().fieldName("resource_id").nullable(),
    streamSeq: p.bigint("number").fieldName("stream_seq").nullable(),
    subject: p.text().nullable(),
    /** the OpenAI project (`Openai-Project` header); null for other providers and older rows */
    project: p.text().nullable(),
    createdAt: p.datetime().fieldName("created_at").columnType("timestamptz"),
    updatedAt: p.datetime().fieldName("updated_at").columnType("timestamptz"),
  }),
});

export type WebhookEventRow = InferEntity<typeof WebhookEvent>;
