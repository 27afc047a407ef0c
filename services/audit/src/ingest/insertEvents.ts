import { arrayLiteral } from "@hookstream/db";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { EventInsertRow } from "./eventRow";

/** A statement and its parameters, ready for the driver. */
export interface EventInsert {
  sql: string;
  params: unknown[];
  /** distinct event ids in the statement */
  rows: number;
}

// One parameter per column, whatever the batch size: the statement text never
// changes (Postgres plans it once per connection) and the driver sends 16 values,
// not 16 × rows. The ORM's multi-row VALUES built and bound 16 parameters per row,
// which the profile in BENCHMARKS.md showed as the audit's largest cost. Plain
// columns travel as array literals; the jsonb columns as one JSON array each, built
// by joining JSON texts (no escaping) and split back into elements in order; times
// as epoch milliseconds (no date text to format in Node or to parse in Postgres).
const jsonbColumn = (n: number) =>
  `ARRAY(SELECT v FROM jsonb_array_elements($${n}::jsonb) WITH ORDINALITY AS e(v, i) ORDER BY i)`;
const INSERT_SQL = `
INSERT INTO webhook_events (event_id, event_type, webhook_id, "timestamp", signature, headers, payload,
  status, metadata, retry_count, resource_type, resource_id, stream_seq, subject, created_at, updated_at,
  provider)
SELECT u.id, u.type, u.wid, to_timestamp(u.ts / 1000.0), u.sig, u.headers, u.payload, u.status, u.metadata,
  u.retry, u.rtype, u.rid, u.seq, u.subject, to_timestamp(u.created / 1000.0), to_timestamp(u.updated / 1000.0),
  u.provider
FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::text[], ${jsonbColumn(6)},
  ${jsonbColumn(7)}, $8::text[], ${jsonbColumn(9)}, $10::int[], $11::text[], $12::text[], $13::bigint[],
  $14::text[], $15::float8[], $16::float8[], $17::text[])
  AS u(id, type, wid, ts, sig, headers, payload, status, metadata, retry, rtype, rid, seq, subject, created,
    updated, provider)
ON CONFLICT (event_id) DO UPDATE SET
  event_type = excluded.event_type, webhook_id = excluded.webhook_id, "timestamp" = excluded."timestamp",
  signature = excluded.signature, headers = excluded.headers, payload = excluded.payload,
  metadata = excluded.metadata, resource_type = excluded.resource_type, resource_id = excluded.resource_id,
  stream_seq = excluded.stream_seq, subject = excluded.subject, updated_at = excluded.updated_at,
  provider = excluded.provider
WHERE webhook_events.subject IS NULL`;

/** The statement that writes `rows` (the first row of each event id wins). */
export function eventInsertOf(rows: EventInsertRow[]): EventInsert {
  // one row per id: ON CONFLICT DO UPDATE may not touch the same row twice in one statement
  const seen = new Set<string>();
  const id: string[] = [];
  const type: string[] = [];
  const webhookId: Array<string | null> = [];
  const ts: Array<number | null> = [];
  const sig: Array<string | null> = [];
  const headers: string[] = [];
  const payload: string[] = [];
  const status: string[] = [];
  const metadata: string[] = [];
  const retry: number[] = [];
  const resType: Array<string | null> = [];
  const resId: Array<string | null> = [];
  const seq: number[] = [];
  const subject: string[] = [];
  const created: number[] = [];
  const updated: number[] = [];
  const provider: Array<string | null> = [];
  for (const row of rows) {
    if (seen.has(row.eventId)) continue;
    seen.add(row.eventId);
    id.push(row.eventId);
    type.push(row.eventType);
    webhookId.push(row.webhookId);
    ts.push(row.timestamp === null ? null : row.timestamp.getTime());
    sig.push(row.signature);
    headers.push(JSON.stringify(row.headers));
    payload.push(row.payloadJson ?? JSON.stringify(row.payload));
    status.push(row.status);
    metadata.push(JSON.stringify(row.metadata));
    retry.push(row.retryCount);
    resType.push(row.resourceType);
    resId.push(row.resourceId);
    seq.push(row.streamSeq);
    subject.push(row.subject);
    created.push(row.createdAt.getTime());
    updated.push(row.updatedAt.getTime());
    provider.push(row.provider ?? null);
  }
  const json = (texts: string[]) => `[${texts.join(",")}]`;
  const params = [
    arrayLiteral(id),
    arrayLiteral(type),
    arrayLiteral(webhookId),
    arrayLiteral(ts),
    arrayLiteral(sig),
    json(headers),
    json(payload),
    arrayLiteral(status),
    json(metadata),
    arrayLiteral(retry),
    arrayLiteral(resType),
    arrayLiteral(resId),
    arrayLiteral(seq),
    arrayLiteral(subject),
    arrayLiteral(created),
    arrayLiteral(updated),
    arrayLiteral(provider),
  ];
  return { sql: INSERT_SQL, params, rows: seen.size };
}

interface PgLike {
  query(sql: string, params: unknown[]): Promise<{ rowCount: number | null }>;
}
interface KnexClientLike {
  acquireConnection(): Promise<PgLike>;
  releaseConnection(conn: PgLike): Promise<unknown>;
}

/**
 * Inserts the rows in one statement and returns how many were new. An event id
 * already in the table changes nothing (a redelivery, or a re-publish outside the
 * duplicate window) — unless its row is a placeholder made by an outcome that came
 * first (`subject IS NULL`): then the event's columns are filled in and the status
 * the outcomes decided is kept. Runs on a connection of the ORM's pool.
 */
export async function insertEvents(em: EntityManager, rows: EventInsertRow[]): Promise<number> {
  const statement = eventInsertOf(rows);
  if (statement.rows === 0) return 0;
  return runOnPool(em, statement);
}

/** Runs a statement on a connection borrowed from the ORM's pool (no ORM formatting on the way). */
export async function runOnPool(em: EntityManager, statement: EventInsert): Promise<number> {
  const client = em.getConnection().getKnex().client as KnexClientLike;
  const conn = await client.acquireConnection();
  try {
    const res = await conn.query(statement.sql, statement.params);
    return res.rowCount ?? 0;
  } finally {
    await client.releaseConnection(conn);
  }
}
