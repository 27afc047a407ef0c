/**
 * Audit drain rate from a backlog, beside the raw batched multi-row INSERT of the
 * same rows measured in the same run (issue #5: "audit drain rate from a 100k
 * backlog vs a raw batched INSERT of the same rows").
 *
 * Runs against NATS_URL / DATABASE_URL (local defaults), in its own namespace and
 * its own database, both removed afterwards. BENCH_AUDIT_EVENTS overrides the size.
 */
import { AuditConfigSchema, type EventInsertRow, eventRowOf, startAudit } from "@hookstream/audit";
import { parseConfig } from "@hookstream/config";
import { eventSubject } from "@hookstream/contracts";
import { createLogger } from "@hookstream/observability";
import { createTestDatabase, deleteStreams, eventBody, testTopology } from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import pg from "pg";

export interface BenchSection {
  title: string;
  command?: string;
  rows: Array<Record<string, string | number>>;
  notes?: string;
}

const TYPES = ["batch.completed", "fine_tuning.job.succeeded", "response.completed", "eval.run.succeeded"];
const BATCH = 1_000;
const COLUMNS = [
  ["event_id", "eventId"],
  ["event_type", "eventType"],
  ["webhook_id", "webhookId"],
  ["timestamp", "timestamp"],
  ["signature", "signature"],
  ["headers", "headers"],
  ["payload", "payload"],
  ["status", "status"],
  ["metadata", "metadata"],
  ["retry_count", "retryCount"],
  ["resource_type", "resourceType"],
  ["resource_id", "resourceId"],
  ["stream_seq", "streamSeq"],
  ["subject", "subject"],
  ["created_at", "createdAt"],
  ["updated_at", "updatedAt"],
] as const satisfies ReadonlyArray<readonly [string, keyof EventInsertRow]>;

/** The headers the gateway sets besides Nats-Msg-Id (DESIGN.md). */
function gatewayHeadersRecord(id: string, type: string): Record<string, string> {
  return {
    "Webhook-Id": `wh_${id}`,
    "Webhook-Timestamp": String(Math.floor(Date.now() / 1000)),
    "Webhook-Signature": "v1,c2lnbmF0dXJl",
    "Event-Type": type,
    "Received-At": new Date().toISOString(),
  };
}

function jsonb(v: unknown) {
  return v === null || v === undefined ? null : JSON.stringify(v);
}

/** The ceiling: plain pg, one multi-row INSERT … ON CONFLICT DO NOTHING per 1000 rows. */
async function rawInsert(url: string, rows: EventInsertRow[]): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("CREATE TABLE webhook_events_raw (LIKE webhook_events INCLUDING ALL)");
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += BATCH) {
      const chunk = rows.slice(i, i + BATCH);
      const params: unknown[] = [];
      const tuples = chunk.map((row) => {
        const marks = COLUMNS.map(([col, key]) => {
          const v = row[key];
          params.push(col === "headers" || col === "payload" || col === "metadata" ? jsonb(v) : v);
          return `$${params.length}`;
        });
        return `(${marks.join(",")})`;
      });
      await client.query(
        `INSERT INTO webhook_events_raw (${COLUMNS.map(([c]) => `"${c}"`).join(",")}) VALUES ${tuples.join(",")} ON CONFLICT (event_id) DO NOTHING`,
        params,
      );
    }
    return performance.now() - t0;
  } finally {
    await client.end();
  }
}

export default async function run(): Promise<BenchSection> {
  const total = Number(process.env.BENCH_AUDIT_EVENTS || 100_000);
  const natsUrl = process.env.NATS_URL || "nats://127.0.0.1:4222";
  const serverUrl = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/postgres";
  const topology = testTopology("benchaudit");
  const db = await createTestDatabase(serverUrl, "benchaudit");
  const nc = await connect({ servers: natsUrl.split(","), noAsyncTraces: true });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const logger = createLogger({ name: "bench-audit", level: "warn" });
  const config = parseConfig(AuditConfigSchema, {
    NATS_URL: natsUrl,
    DATABASE_URL: db.url,
    HOOKSTREAM_NAMESPACE: topology.namespace,
    AUDIT_BATCH_SIZE: String(BATCH),
    LOG_LEVEL: "warn",
  });
  try {
    // streams and durables first, consumers stopped: the backlog builds up unread
    const setup = await startAudit(config, logger);
    await setup.consumers.stop();
    for (const step of setup.steps.filter((s) => s.name !== "consumers")) await step.close();

    const rows: EventInsertRow[] = [];
    const now = new Date();
    const t0 = performance.now();
    let inFlight: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const type = TYPES[i % TYPES.length] ?? "batch.completed";
      const id = `evt_bench_${i}`;
      const body = eventBody(type, { id, data: { id: `res_${i}` } });
      const h = gatewayHeadersRecord(id, type);
      const hdrs = natsHeaders();
      for (const [k, v] of Object.entries(h)) hdrs.set(k, v);
      const subject = eventSubject(topology, type);
      inFlight.push(js.publish(subject, body, { msgID: id, headers: hdrs }));
      rows.push(
        eventRowOf(
          { subject, seq: i + 1, headers: { ...h, "Nats-Msg-Id": id }, data: Buffer.from(body) },
          topology,
          now,
        ),
      );
      if (inFlight.length >= 256) {
        await Promise.all(inFlight);
        inFlight = [];
      }
    }
    await Promise.all(inFlight);
    const publishMs = performance.now() - t0;

    const audit = await startAudit(config, logger);
    const count = async () =>
      Number(
        (
          (await audit.orm.em.getConnection().execute("select count(*) as n from webhook_events")) as Array<{
            n: string;
          }>
        )[0]?.n,
      );
    const d0 = performance.now();
    while ((await count()) < total) await new Promise((r) => setTimeout(r, 100));
    const drainMs = performance.now() - d0;
    for (const step of audit.steps) await step.close();

    const rawMs = await rawInsert(db.url, rows);
    const rate = (ms: number) => Math.round(total / (ms / 1000));
    return {
      title: "Audit drain from a backlog vs raw batched INSERT",
      command: "npm run bench (bench/audit.bench.ts)",
      rows: [
        { what: "backlog published to WEBHOOKS (256 in flight)", messages: total, "msg/s": rate(publishMs) },
        {
          what: `audit drain (consumer → ${BATCH}-row INSERT … ON CONFLICT, ack after commit)`,
          messages: total,
          "msg/s": rate(drainMs),
          seconds: Number((drainMs / 1000).toFixed(2)),
        },
        {
          what: `raw pg multi-row INSERT, ${BATCH} rows each, same rows (ceiling)`,
          messages: total,
          "msg/s": rate(rawMs),
          seconds: Number((rawMs / 1000).toFixed(2)),
        },
        { what: "audit / raw", messages: total, "msg/s": Number((rawMs / drainMs).toFixed(2)) },
      ],
      notes:
        "Same machine, same run, same rows; the drain includes pulling from JetStream, parsing, and acking each message after its batch committed.",
    };
  } finally {
    await deleteStreams(jsm, topology);
    await nc.close();
    await db.drop();
  }
}
