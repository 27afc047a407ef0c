/**
 * What the audit benchmarks share: a backlog of WEBHOOKS messages shaped like the
 * gateway's (body as OpenAI sends it, the gateway's headers), and the table's own
 * write ceiling measured server-side on rows of the same shape.
 */
import { eventSubject, type Topology, UNHANDLED_EVENT_TYPE } from "@hookstream/contracts";
import { eventBody } from "@hookstream/testing";
import type { JetStreamClient } from "@nats-io/jetstream";
import { headers as natsHeaders } from "@nats-io/transport-node";
import pg from "pg";

/** three handled types and one no handler takes (recorded `ignored`), in turn */
export const EVENT_TYPES = [
  "batch.completed",
  "fine_tuning.job.succeeded",
  "response.completed",
  UNHANDLED_EVENT_TYPE,
] as const;

/** The headers the gateway sets (docs/architecture.md, "Streams and subjects"). */
export function gatewayHeaders(id: string, type: string): Record<string, string> {
  return {
    "Nats-Msg-Id": id,
    "Webhook-Id": `wh_${id}`,
    "Webhook-Timestamp": String(Math.floor(Date.now() / 1000)),
    "Webhook-Signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
    "Event-Type": type,
    "Received-At": new Date().toISOString(),
  };
}

/** Publishes `total` distinct events, 256 in flight, and returns the rate. */
export async function publishBacklog(
  js: JetStreamClient,
  topology: Topology,
  total: number,
  label = "bench",
): Promise<number> {
  const t0 = performance.now();
  let inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const type = EVENT_TYPES[i % EVENT_TYPES.length] ?? "batch.completed";
    const id = `evt_${label}_${i}`;
    const hdrs = natsHeaders();
    for (const [k, v] of Object.entries(gatewayHeaders(id, type))) hdrs.set(k, v);
    const body = eventBody(type, { id, data: { id: `res_${i}`, object: "batch", status: "completed" } });
    inFlight.push(js.publish(eventSubject(topology, type), body, { msgID: id, headers: hdrs }));
    if (inFlight.length >= 256) {
      await Promise.all(inFlight);
      inFlight = [];
    }
  }
  await Promise.all(inFlight);
  return total / ((performance.now() - t0) / 1000);
}

/**
 * The table's own write ceiling: a server-side INSERT … SELECT generate_series of
 * `total` rows shaped like the audit's (the same jsonb headers and payload sizes, the
 * same distinct event ids, statuses, types and resources) into `webhook_events` with
 * every index the migrations create. Nothing crosses the wire, nothing is parsed in
 * Node: no client can write faster. Returns rows/s; the table is emptied afterwards.
 */
export async function tableCeiling(url: string, total: number, label: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const t0 = performance.now();
    await client.query(
      `INSERT INTO webhook_events (event_id, event_type, webhook_id, "timestamp", signature, headers, payload,
         status, metadata, retry_count, resource_type, resource_id, stream_seq, subject, created_at, updated_at,
         provider)
       SELECT 'evt_' || $2 || '_' || g,
              t.type,
              'wh_evt_' || $2 || '_' || g,
              now(),
              'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
              jsonb_build_object('Nats-Msg-Id', 'evt_' || $2 || '_' || g, 'Webhook-Id', 'wh_evt_' || $2 || '_' || g,
                'Webhook-Timestamp', extract(epoch from now())::bigint::text,
                'Webhook-Signature', 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
                'Event-Type', t.type, 'Received-At', now()::text),
              jsonb_build_object('id', 'evt_' || $2 || '_' || g, 'object', 'event',
                'created_at', extract(epoch from now())::bigint, 'type', t.type,
                'data', jsonb_build_object('id', 'res_' || g, 'object', 'batch', 'status', 'completed')),
              CASE WHEN t.type = $3 THEN 'ignored' ELSE 'pending' END,
              '{}'::jsonb,
              0,
              split_part(t.type, '.', 1),
              'res_' || g,
              g,
              'bench.webhooks.openai.' || t.type,
              now(),
              now(),
              'openai'
         FROM generate_series(1, $1::int) g
         CROSS JOIN LATERAL (SELECT ($4::text[])[1 + g % 4] AS type) t`,
      [total, label, UNHANDLED_EVENT_TYPE, [...EVENT_TYPES]],
    );
    const ms = performance.now() - t0;
    return total / (ms / 1000);
  } finally {
    await client.query("TRUNCATE webhook_events RESTART IDENTITY");
    await client.end();
  }
}
