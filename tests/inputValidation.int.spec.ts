/**
 * Bad input at the admin surface (issue 21, items 1 to 4), on real NATS and Postgres:
 * an event is its provider and its id (erasure tells two senders' events apart), no
 * id that becomes a subject token may hold a wildcard, a bad query answers 400 with a
 * code naming the parameter and never SQL or a stack, and each service describes
 * every route it registered at /openapi.json.
 */
import { type Admin, AdminConfigSchema, startAdmin } from "@hookstream/admin";
import { type Audit, AuditConfigSchema, startAudit } from "@hookstream/audit";
import { parseConfig } from "@hookstream/config";
import { dlqSubject, eventKey, MessageHeader, providerEventSubject } from "@hookstream/contracts";
import { FineTuneConfigSchema, type FineTuneService, startFineTune } from "@hookstream/fine-tune";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  eventually,
  gatewayHeaders,
  publishEvent,
  testTopology,
} from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const TOKEN = "input-validation-token";
const logger = pino({ level: "silent" });
const topology = testTopology("inval");
const db = await createTestDatabase(inject("databaseUrl"), "inval");
const natsUrl = inject("natsUrl");
const nc = await connect({ servers: natsUrl.split(",") });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const sql = new pg.Pool({ connectionString: db.url, max: 2 });
const common = {
  NATS_URL: natsUrl,
  DATABASE_URL: db.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  ADMIN_TOKEN: TOKEN,
  LOG_LEVEL: "silent",
  DB_POOL_MAX: "4",
};
let audit: Audit;
let admin: Admin;
let fineTune: FineTuneService;
const auth = { authorization: `Bearer ${TOKEN}` };
const SHARED = "evt_shared_inval";

beforeAll(async () => {
  audit = await startAudit(
    parseConfig(AuditConfigSchema, { ...common, AUDIT_MAX_NAK_DELAY_MS: "400" }),
    logger,
  );
  admin = await startAdmin(parseConfig(AdminConfigSchema, common), logger);
  fineTune = await startFineTune(parseConfig(FineTuneConfigSchema, common), logger);
  // two senders' events with one id, and a dead letter (the DLQ is not empty)
  const acme = JSON.stringify({ type: "invoice.paid", timestamp: new Date().toISOString(), data: {} });
  await js.publish(providerEventSubject(topology, "acme", "invoice.paid"), acme, {
    msgID: eventKey("acme", SHARED),
    headers: gatewayHeaders(SHARED, "invoice.paid", SHARED),
  });
  await publishEvent(js, topology, eventBody("batch.completed", { id: SHARED, data: { id: "batch_inval" } }));
  await js.publish(dlqSubject(topology, "batch", "batch.completed"), eventBody("batch.completed"));
  await eventually(
    async () =>
      (await sql.query("SELECT count(*)::int AS n FROM webhook_events WHERE event_id = $1", [SHARED])).rows[0]
        .n === 2 || undefined,
    { message: "both audit rows" },
  );
});

afterAll(async () => {
  for (const s of [fineTune, admin, audit]) for (const step of s?.steps ?? []) await step.close();
  await deleteStreams(jsm, topology);
  await nc.close();
  await sql.end();
  await db.drop();
});

function expectClean400(res: { statusCode: number; body: string }, code: string, what: string) {
  expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
  expect(JSON.parse(res.body), what).toMatchObject({ error: code });
  expect(res.body, what).not.toMatch(/SELECT|INSERT|WHERE|\bat .+:\d+:\d+|Invalid time value/);
}

const erase = (app: FastifyInstance, body: unknown) =>
  app.inject({ method: "POST", url: "/admin/erase", headers: auth, payload: body as object });

describe("erasure takes no wildcard (item 3)", () => {
  it("answers 400 invalid_resourceId to each resource id that is not one subject token, dry run or not", async () => {
    for (const resourceId of [">", "*", "a.b", " ", "ftjob-1 >", "", "x".repeat(257)]) {
      for (const dryRun of [true, false]) {
        const res = await erase(admin.app, { resourceType: "fine_tuning_job", resourceId, dryRun });
        expectClean400(res, "invalid_resourceId", JSON.stringify(resourceId));
      }
    }
    expectClean400(
      await erase(admin.app, { resourceType: "fine.tuning", resourceId: "ftjob-1" }),
      "invalid_resourceType",
      "a dotted resource type",
    );
  });

  it("answers 400 invalid_eventId to an event id that is not one subject token", async () => {
    for (const eventId of [">", "evt.*", "*", "a b", "x".repeat(257)]) {
      expectClean400(await erase(admin.app, { eventId, dryRun: true }), "invalid_eventId", eventId);
    }
  });

  it("refuses the same ids wherever a route builds a subject from them", async () => {
    for (const id of ["a.b", "*", ">", "a%20b"]) {
      expectClean400(
        await fineTune.app.inject({ url: `/fine-tune-jobs/${id}`, headers: auth }),
        "invalid_id",
        `job ${id}`,
      );
      expectClean400(
        await admin.app.inject({ method: "POST", url: `/admin/replay/${id}`, headers: auth, payload: {} }),
        "invalid_event_id",
        `replay ${id}`,
      );
    }
  });
});

describe("an event is its provider and its id (item 1)", () => {
  it("erases one provider's event of a shared id, asks which when the id alone is ambiguous, and keeps the other", async () => {
    const ambiguous = await erase(admin.app, { eventId: SHARED, dryRun: true });
    expect(ambiguous.statusCode).toBe(409);
    expect(ambiguous.json()).toMatchObject({ error: "ambiguous_event_id" });

    const res = await erase(admin.app, { eventId: SHARED, provider: "acme" });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      target: { event_id: SHARED, provider: "acme" },
      counts: { webhook_events: 1, webhooks: 1, outcomes: 0, dlq: 0 },
    });
    const left = await sql.query("SELECT provider FROM webhook_events WHERE event_id = $1", [SHARED]);
    expect(left.rows).toEqual([{ provider: "openai" }]);
    // the OpenAI event's message is still in the stream
    const msgs = await jsm.streams.info(topology.streams.webhooks);
    expect(msgs.state.messages).toBe(1);
    const [row] = (await sql.query("SELECT stream_seq FROM webhook_events WHERE event_id = $1", [SHARED]))
      .rows;
    const msg = await jsm.streams.getMessage(topology.streams.webhooks, { seq: Number(row.stream_seq) });
    expect(msg?.header.get(MessageHeader.MsgId)).toBe(SHARED);
  });
});
