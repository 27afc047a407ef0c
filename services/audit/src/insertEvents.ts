import type { EntityManager } from "@mikro-orm/postgresql";
import type { EventInsertRow } from "./eventRow";
import { WebhookEvent } from "./WebhookEvent";

/** The columns of an event that a placeholder (made by an early outcome) does not have yet. */
const EVENT_FIELDS = [
  "eventType",
  "webhookId",
  "timestamp",
  "signature",
  "headers",
  "payload",
  "metadata",
  "resourceType",
  "resourceId",
  "streamSeq",
  "subject",
  "updatedAt",
] as const;

/**
 * Inserts the rows in one multi-row statement and returns how many were new. An
 * event id already in the table changes nothing (a redelivery, or a re-publish
 * outside the duplicate window) — unless its row is a placeholder made by an outcome
 * that came first (`subject IS NULL`): then the event's columns are filled in and the
 * status the outcomes decided is kept.
 */
export async function insertEvents(em: EntityManager, rows: EventInsertRow[]): Promise<number> {
  // one row per id: ON CONFLICT DO UPDATE may not touch the same row twice in one statement
  const unique = new Map<string, EventInsertRow>();
  for (const row of rows) if (!unique.has(row.eventId)) unique.set(row.eventId, row);
  if (unique.size === 0) return 0;
  const res = await em
    .createQueryBuilder(WebhookEvent)
    .insert([...unique.values()])
    .onConflict(["eventId"])
    .merge([...EVENT_FIELDS])
    .where({ subject: null })
    .execute("run");
  return res.affectedRows;
}
