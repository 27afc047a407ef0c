import { readAttempts, readDeliveries } from "@hookstream/audit-store";
import type { EventDetail } from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";
import { eventOfId } from "../admin/eventOfId";
import { iso, SUMMARY_COLUMNS, type SummaryRow, summaryOf } from "./eventSummary";

type DetailRow = SummaryRow & {
  timestamp: Date | string | null;
  signature: string | null;
  headers: Record<string, string> | null;
  payload: unknown;
  metadata: Record<string, unknown> | null;
};

/**
 * One event with its body, headers, every handler attempt and every notification
 * attempt; null when the event is unknown, 409 when the id alone is ambiguous
 * (eventOfId). Handlers and notifications are OpenAI's only: another provider's event
 * has none (the attempts and deliveries of the same id are OpenAI's event's).
 */
export async function eventDetail(
  em: EntityManager,
  eventId: string,
  provider?: string,
): Promise<EventDetail | null> {
  const row = await eventOfId<DetailRow>(
    em,
    `${SUMMARY_COLUMNS}, "timestamp", signature, headers, payload, metadata`,
    eventId,
    provider,
  );
  if (!row) return null;
  const handled = row.provider === "openai";
  return {
    ...summaryOf(row),
    timestamp: iso(row.timestamp),
    signature: row.signature,
    headers: row.headers,
    payload: row.payload,
    metadata: row.metadata ?? {},
    attempts: handled ? await readAttempts(em, eventId) : [],
    deliveries: handled ? await readDeliveries(em, eventId) : [],
  };
}
