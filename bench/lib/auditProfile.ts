/**
 * Where the audit's time goes: the consumer's steps run one after the other on a
 * real backlog, each timed alone, for a write path given as an argument. Run with
 * the path the audit had before this benchmark (the ORM query builder's multi-row
 * VALUES, kept here), with the unnest statement (today's INSERT, the fallback for a
 * batch COPY refuses) and with COPY (today's way in for new events), on the same
 * kind of backlog.
 */
import {
  copyEvents,
  type EventCopy,
  type EventInsertRow,
  eventInsertOf,
  eventRowOf,
  headerRecord,
  messageHeaders,
  preparedCopyOf,
  preparedEventOf,
  runOnPool,
  WebhookEvent,
} from "@hookstream/audit";
import { DURABLES, type Topology } from "@hookstream/contracts";
import { streamSeqOf } from "@hookstream/messaging";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";

export const PHASES = ["pull", "decode", "rows", "sql", "roundTrip", "ack"] as const;
export type Phase = (typeof PHASES)[number];
export type Breakdown = Record<Phase, number> & { total: number; messages: number };

/** A write path split in two: building the statement, then running it. */
export interface WritePath {
  name: string;
  headers(m: JsMsg): Record<string, string>;
  seq(m: JsMsg): number;
  build(em: EntityManager, rows: EventInsertRow[]): unknown;
  run(em: EntityManager, built: unknown): Promise<number>;
}

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

/** The audit's write before issue 14: MikroORM's query builder, one VALUES tuple (16 parameters) per row. */
export const ormValuesPath: WritePath = {
  name: "before: nats.js header objects, ORM query builder, multi-row VALUES",
  headers: (m) => headerRecord(m.headers),
  seq: (m) => m.seq,
  build(em, rows) {
    const unique = new Map<string, EventInsertRow>();
    for (const row of rows) if (!unique.has(row.eventId)) unique.set(row.eventId, row);
    const qb = em
      .createQueryBuilder(WebhookEvent)
      // today's rows carry the body as text, the old ones parsed (in decode): parsed back here
      .insert(
        [...unique.values()].map(({ payloadJson, ...r }) => ({ ...r, payload: JSON.parse(payloadJson) })),
      )
      .onConflict(["eventId"])
      .merge([...EVENT_FIELDS])
      .where({ subject: null });
    qb.getKnexQuery().toSQL(); // the text and the bindings, as execute() builds them
    return qb;
  },
  async run(_em, qb) {
    return (await (qb as { execute(m: "run"): Promise<{ affectedRows: number }> }).execute("run"))
      .affectedRows;
  },
};

/** The INSERT: `eventInsertOf` + `runOnPool` (one unnest statement, 17 array parameters). */
export const unnestPath: WritePath = {
  name: "after, INSERT (the fallback): header block scanned in place, sequence read from the reply subject, unnest arrays (times as epoch ms) on a pooled connection",
  headers: messageHeaders,
  seq: streamSeqOf,
  build: (_em, rows) => eventInsertOf(rows),
  run: (em, built) => runOnPool(em, built as ReturnType<typeof eventInsertOf>),
};

/**
 * Today's way in for new events: `preparedEventOf` (the audit runs it as each message
 * arrives; here, in sequence, it counts under sql) + `preparedCopyOf` + `copyEvents`.
 */
export const copyPath: WritePath = {
  name: "after, COPY (new events): as above, each event's COPY line made as it arrives, the batch's lines sent as one buffer",
  headers: messageHeaders,
  seq: streamSeqOf,
  build: (_em, rows) => preparedCopyOf(rows.map(preparedEventOf)),
  async run(em, built) {
    await copyEvents(em, built as EventCopy);
    return (built as EventCopy).rows;
  },
};

/**
 * Pulls `total` messages from the `audit` durable in batches of `batch` and runs
 * each step of the consumer for each batch, timing each: the waits for messages
 * (pull), headers + body text + JSON.parse (decode), the rest of eventRowOf (rows),
 * building the statement (sql), running it (round trip), one ack per message (ack).
 */
export async function profileAudit(opts: {
  js: JetStreamClient;
  em: EntityManager;
  topology: Topology;
  total: number;
  batch: number;
  path: WritePath;
}): Promise<Breakdown> {
  const { js, topology, total, batch, path } = opts;
  const spent: Record<Phase, number> = { pull: 0, decode: 0, rows: 0, sql: 0, roundTrip: 0, ack: 0 };
  const consumer = await js.consumers.get(topology.streams.webhooks, DURABLES.audit);
  const iter = await consumer.consume({ max_messages: batch * 2 });
  const it = iter[Symbol.asyncIterator]();
  const decoder = new TextDecoder();
  const start = performance.now();
  let seen = 0;
  let t = performance.now();
  const lap = (phase: Phase) => {
    const now = performance.now();
    spent[phase] += now - t;
    t = now;
  };
  while (seen < total) {
    const msgs: JsMsg[] = [];
    t = performance.now();
    while (msgs.length < batch && seen + msgs.length < total) {
      const next = await it.next();
      if (next.done) break;
      msgs.push(next.value);
    }
    lap("pull");
    const raw = msgs.map((m) => ({
      subject: m.subject,
      seq: path.seq(m),
      headers: path.headers(m),
      data: m.data,
    }));
    for (const m of raw) JSON.parse(decoder.decode(m.data));
    lap("decode");
    const at = new Date();
    const rows = raw.map((m) => eventRowOf(m, topology, at));
    lap("rows");
    // eventRowOf decodes and parses again: give that share back to decode
    const again = performance.now();
    for (const m of raw) JSON.parse(decoder.decode(m.data));
    const twice = performance.now() - again;
    spent.rows -= twice;
    t = performance.now();
    const em = opts.em.fork();
    const built = path.build(em, rows);
    lap("sql");
    await path.run(em, built);
    lap("roundTrip");
    for (const m of msgs) m.ack();
    lap("ack");
    seen += msgs.length;
  }
  const totalMs = performance.now() - start;
  iter.stop();
  return { ...spent, total: totalMs, messages: seen };
}
