import type { EventDetail } from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";
import { readDeliveries } from "../deliveries/index";
import { readAttempts } from "./attempts";
import { iso, SUMMARY_COLUMNS, type SummaryRow, summaryOf } from "./eventSummary";

type DetailRow = SummaryRow & {
  timestamp: Date | string | null;
  signature: string | null;
  headers: Record<string, string> | null;
  payload: unknown;
  metadata: Record<string, unknown> | null;
  provider: string | null;
};

/** One event with its body, headers, every handler attempt and every notification attempt; null when the id is unknown. */
export async function eventDetail(em: EntityManager, eventId: string): Promise<EventDetail | null> {
  const rows = await em
    .getConnection()
    .execute<DetailRow[]>(
      `SELECT ${SUMMARY_COLUMNS}, "timestamp", signature, headers, payload, metadata, provider FROM webhook_events WHERE event_id = ?`,
      [eventId],
    );
  const row = rows[0];
  if (!row) return null;
  return {
    ...summaryOf(row),
    timestamp: iso(row.timestamp),
    signature: row.signature,
    headers: row.headers,
    payload: row.payload,
    metadata: row.metadata ?? {},
    attempts: await readAttempts(em, eventId),
    provider: row.provider,
    deliveries: await readDeliveries(em, eventId),
  };
}
