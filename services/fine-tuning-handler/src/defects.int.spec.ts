import { parseConfig } from "@hookstream/config";
import { DlqHeader, type Outcome } from "@hookstream/contracts";
import { type HandlerConfig, handlerConfigSchema, inboxTable, startHandler } from "@hookstream/handler-kit";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  eventually,
  publishEvent,
  testTopology,
} from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";
import { fineTuningHandler } from "./fineTuningHandler";

// Issue 8, defects 5 and 6: a lease held elsewhere is not a failure; an unknown type is ignored.
const logger = pino({ level: "silent" });
const topology = testTopology("ftdef");
const db = await createTestDatabase(inject("databaseUrl"), "ftdef");
const natsUrl = inject("natsUrl");
const nc = await connect({ servers: natsUrl.split(",") });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);

const config = parseConfig(handlerConfigSchema("fine-tuning"), {
  NATS_URL: natsUrl,
  DATABASE_URL: db.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  // one delivery only: any delivery spent or counted as failed would dead-letter at once
  HANDLER_MAX_DELIVER: "1",
  HANDLER_ACK_WAIT_MS: "2000",
  LOG_LEVEL: "silent",
}) as HandlerConfig;
const handler = await startHandler(fineTuningHandler, config, logger);
const sql = new pg.Pool({ connectionString: db.url, max: 2 });
const table = inboxTable("fine-tuning");

afterAll(async () => {
  for (const step of handler.steps) await step.close();
  await sql.end();
  await deleteStreams(jsm, topology);
  await nc.close();
  await db.drop();
});

/** the notifications published for an event (stream NOTIFICATIONS), which the delivery service would send */
async function notificationsOf(id: string) {
  return (await read(topology.streams.notifications)).filter((m) => m.data.includes(id));
}

async function read(stream: string): Promise<Array<{ data: string; eventId?: string }>> {
  const info = await jsm.streams.info(stream);
  const out: Array<{ data: string; eventId?: string }> = [];
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m) out.push({ data: new TextDecoder().decode(m.data), eventId: m.header?.get(DlqHeader.EventId) });
  }
  return out;
}

const outcomesOf = async (eventId: string) =>
  (await read(topology.streams.outcomes))
    .map((m) => JSON.parse(m.data) as Outcome)
    .filter((o) => o.event_id === eventId);

describe("a delivery whose event is leased by another instance (defect 5)", () => {
  it("waits for the holder in the same delivery: no delivery spent, no dead letter, acked once the holder finishes", async () => {
    const body = eventBody("fine_tuning.job.succeeded", { data: { id: "ftjob-leased" } });
    const { id } = JSON.parse(body) as { id: string };
    // another instance holds the event's lease for the next minute
    await sql.query(
      `INSERT INTO ${table} (event_id, event_type, claimed_until) VALUES ($1, 'fine_tuning.job.succeeded', now() + interval '60 seconds')`,
      [id],
    );
    await publishEvent(js, topology, body);

    // several ack waits go by: the delivery keeps working, it is neither failed nor redelivered
    await new Promise((r) => setTimeout(r, 5_000));
    const waiting = await jsm.consumers.info(topology.streams.webhooks, "fine-tuning");
    expect(waiting.num_ack_pending).toBe(1);
    expect(waiting.num_redelivered).toBe(0);
    expect((await read(topology.streams.dlq)).filter((m) => m.eventId === id)).toHaveLength(0);
    expect(await outcomesOf(id)).toEqual([]);

    // the holder finishes its work
    await sql.query(`UPDATE ${table} SET completed_at = now(), claimed_until = NULL WHERE event_id = $1`, [
      id,
    ]);
    await eventually(async () => {
      const c = await jsm.consumers.info(topology.streams.webhooks, "fine-tuning");
      return c.num_ack_pending === 0 && c.num_pending === 0;
    });
    const outcomes = await outcomesOf(id);
    expect(outcomes.map((o) => [o.status, o.attempt, o.skipped])).toEqual([["processed", 1, true]]);
    expect((await read(topology.streams.dlq)).filter((m) => m.eventId === id)).toHaveLength(0);
    // the holder did the work: this delivery published no notification
    expect(await notificationsOf(id)).toHaveLength(0);
  });
});

describe("a type the fine-tuning domain does not know (defect 6)", () => {
  it("records fine_tuning.job.succeded as ignored with the reason, with no snapshot and no notification", async () => {
    const body = eventBody("fine_tuning.job.succeded", { data: { id: "ftjob-misspelled" } });
    const { id } = JSON.parse(body) as { id: string };
    await publishEvent(js, topology, body);

    const [outcome] = await eventually(async () => {
      const o = await outcomesOf(id);
      return o.length > 0 ? o : undefined;
    });
    expect(outcome).toMatchObject({ status: "ignored", handler: "fine-tuning", attempt: 1 });
    expect(outcome?.error).toContain('"fine_tuning.job.succeded" is not a fine_tuning event type');
    expect(outcome?.error).toContain("fine_tuning.job.succeeded");

    const snapshots = await jsm.streams.info(topology.streams.fineTuning, {
      subjects_filter: `${topology.subjects.fineTuningPrefix}.ftjob-misspelled`,
    });
    expect(snapshots.state.subjects?.[`${topology.subjects.fineTuningPrefix}.ftjob-misspelled`] ?? 0).toBe(0);
    expect(await notificationsOf(id)).toHaveLength(0);
    const { rows } = await sql.query(`SELECT 1 FROM ${table} WHERE event_id = $1`, [id]);
    expect(rows).toHaveLength(0);
  });
});
