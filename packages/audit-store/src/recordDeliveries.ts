import type { DeliveryRecord, EventDelivery } from "@hookstream/contracts";
import { maskUrl } from "@hookstream/runtime";
import type { EntityManager } from "@mikro-orm/postgresql";

const COLUMNS = 12;

/**
 * Writes one `webhook_deliveries` row per record, in one statement. A redelivered
 * record hits the unique key and adds nothing, so the consumer can ack after it.
 */
export async function recordDeliveries(em: EntityManager, records: DeliveryRecord[]): Promise<number> {
  if (records.length === 0) return 0;
  const values: string[] = [];
  const params: unknown[] = [];
  for (const r of records) {
    values.push(`(${Array.from({ length: COLUMNS }, () => "?").join(", ")})`);
    params.push(
      r.event_id,
      r.event_type,
      r.handler,
      r.destination,
      r.url,
      r.webhook_id,
      r.attempt,
      r.status_code,
      r.latency_ms,
      r.error,
      r.outcome,
      new Date(r.at),
    );
  }
  const res = await em.getConnection().execute(
    `INSERT INTO webhook_deliveries
       (event_id, event_type, handler, destination, url, webhook_id, attempt, status_code, latency_ms, error, outcome, at)
     VALUES ${values.join(", ")}
     ON CONFLICT ON CONSTRAINT webhook_deliveries_attempt_unique DO NOTHING`,
    params,
    "run",
  );
  return (res as { affectedRows?: number }).affectedRows ?? 0;
}

type DeliveryRow = {
  handler: string;
  destination: string | null;
  url: string;
  webhook_id: string;
  attempt: number;
  status_code: number | null;
  latency_ms: number | string;
  error: string | null;
  outcome: EventDelivery["outcome"];
  at: Date | string;
};

/** Every notification attempt for one event, oldest first. */
export async function readDeliveries(em: EntityManager, eventId: string): Promise<EventDelivery[]> {
  const rows = await em.getConnection().execute<DeliveryRow[]>(
    `SELECT handler, destination, url, webhook_id, attempt, status_code, latency_ms, error, outcome, at
       FROM webhook_deliveries WHERE event_id = ? ORDER BY at, id`,
    [eventId],
  );
  return rows.map((r) => ({
    handler: r.handler,
    destination: r.destination,
    // recorded masked; rows written before that are masked on the way out
    url: maskUrl(r.url),
    webhook_id: r.webhook_id,
    attempt: r.attempt,
    status_code: r.status_code,
    latency_ms: Number(r.latency_ms),
    error: r.error,
    outcome: r.outcome,
    at: new Date(r.at).toISOString(),
  }));
}
