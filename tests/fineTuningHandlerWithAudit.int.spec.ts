/**
 * The fine-tuning handler end to end with the audit beside it (two services, so it
 * lives in tests/): retries, 404s, exhaustion, duplicates, two instances, DLQ replay and
 * ignored types, each checked in the handler's effects and in webhook_events.status.
 */
import { AdminConfigSchema, startAdmin } from "@hookstream/admin";
import { AuditConfigSchema, startAudit } from "@hookstream/audit";
import { parseConfig } from "@hookstream/config";
import { DlqHeader, type Outcome, UNHANDLED_EVENT_TYPE } from "@hookstream/contracts";
import { deliveryConfig, startDelivery } from "@hookstream/delivery";
import { fineTuningHandler } from "@hookstream/fine-tuning-handler";
import {
  type HandlerConfig,
  handlerConfigSchema,
  type RunningHandler,
  startHandler,
} from "@hookstream/handler-kit";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  eventually,
  FakeOpenAI,
  NotificationReceiver,
  publishEvent,
  testTopology,
} from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";

const logger = pino({ level: "silent" });
const topology = testTopology("fth");
const db = await createTestDatabase(inject("databaseUrl"), "fth");
const natsUrl = inject("natsUrl");
const nc = await connect({ servers: natsUrl.split(",") });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const fake = await FakeOpenAI.start();
const receiver = await NotificationReceiver.start();
const ADMIN_TOKEN = "test-admin-token";

const MAX_DELIVER = 3;
function handlerConfig(): HandlerConfig {
  return parseConfig(handlerConfigSchema("FINE_TUNING_HANDLER_PORT", 3002), {
    NATS_URL: natsUrl,
    DATABASE_URL: db.url,
    HOOKSTREAM_NAMESPACE: topology.namespace,
    OPENAI_API_KEY: "sk-test",
    OPENAI_BASE_URL: fake.baseURL,
    HANDLER_MAX_DELIVER: String(MAX_DELIVER),
    HANDLER_ACK_WAIT_MS: "3000",
    // nak delays of 750–1000 ms, then 1500–2000 ms: far enough apart that "growing delays"
    // holds on a loaded machine (200 ms base, 150–200 then 300–400 ms, once did not)
    HANDLER_BASE_DELAY_MS: "1000",
    HANDLER_MAX_DELAY_MS: "4000",
    LOG_LEVEL: "silent",
  }) as HandlerConfig;
}

// the audit runs beside the handler: it turns outcomes into webhook_events.status
const audit = await startAudit(
  parseConfig(AuditConfigSchema, {
    NATS_URL: natsUrl,
    DATABASE_URL: db.url,
    HOOKSTREAM_NAMESPACE: topology.namespace,
    ADMIN_TOKEN,
    AUDIT_MAX_NAK_DELAY_MS: "400",
    LOG_LEVEL: "silent",
  }),
  logger,
);
const admin = await startAdmin(
  parseConfig(AdminConfigSchema, {
    NATS_URL: natsUrl,
    DATABASE_URL: db.url,
    HOOKSTREAM_NAMESPACE: topology.namespace,
    ADMIN_TOKEN,
    LOG_LEVEL: "silent",
  }),
  logger,
);
const first = await startHandler(fineTuningHandler, handlerConfig(), logger);
// the notifications and the deploy hook go out through the delivery service
const delivery = await startDelivery(
  deliveryConfig({
    NATS_URL: natsUrl,
    HOOKSTREAM_NAMESPACE: topology.namespace,
    NOTIFY_URLS: receiver.url("/notify"),
    DEPLOY_HOOK_URL: receiver.url("/deploy"),
    LOG_LEVEL: "silent",
  }),
  logger,
);
const handlers: RunningHandler[] = [first];

const sql = new pg.Pool({ connectionString: db.url, max: 2 });
async function auditRow(eventId: string) {
  const { rows } = await sql.query(
    "SELECT status, retry_count, error_message FROM webhook_events WHERE event_id = $1",
    [eventId],
  );
  return rows[0] as { status: string; retry_count: number; error_message: string | null } | undefined;
}

async function outcomesOf(eventId: string): Promise<Outcome[]> {
  const info = await jsm.streams.info(topology.streams.outcomes);
  const out: Outcome[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(topology.streams.outcomes, { seq }).catch(() => null);
    if (!m) continue;
    const o = JSON.parse(new TextDecoder().decode(m.data)) as Outcome;
    if (o.event_id === eventId) out.push(o);
  }
  return out.sort((a, b) => a.attempt - b.attempt);
}

async function dlqEntries(eventId: string) {
  const info = await jsm.streams.info(topology.streams.dlq);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(topology.streams.dlq, { seq }).catch(() => null);
    if (m?.header.get(DlqHeader.EventId) === eventId) out.push(m);
  }
  return out;
}

/** waits until the handler's consumer has nothing pending or unacked */
async function drained() {
  await eventually(
    async () => {
      const c = await jsm.consumers.info(topology.streams.webhooks, "fine-tuning");
      return c.num_pending === 0 && c.num_ack_pending === 0;
    },
    { message: "the fine-tuning consumer to drain" },
  );
}

function ftEvent(type: string, jobId: string) {
  return eventBody(type, { data: { id: jobId } });
}

afterAll(async () => {
  await delivery.stop();
  for (const h of handlers) for (const step of h.steps) await step.close();
  for (const step of admin.steps) await step.close();
  for (const step of audit.steps) await step.close();
  await sql.end();
  await fake.close();
  await receiver.close();
  await deleteStreams(jsm, topology);
  await nc.close();
  await db.drop();
});

describe("fine-tuning handler", () => {
  it("retries a transient failure with growing delays and ends processed with retry_count 2", async () => {
    const path = "/v1/fine_tuning/jobs/ftjob-transient";
    fake.fineTuningJob("ftjob-transient", {
      status: "succeeded",
      fine_tuned_model: "ft:gpt-4o-mini:acme::t1",
      trained_tokens: 1234,
    });
    fake.failNext(2, 500, path);
    const body = ftEvent("fine_tuning.job.succeeded", "ftjob-transient");
    const id = JSON.parse(body).id;
    await publishEvent(js, topology, body);

    const outcomes = await eventually(
      async () => {
        const o = await outcomesOf(id);
        return o.some((x) => x.status === "processed") ? o : undefined;
      },
      { message: "the processed outcome" },
    );
    expect(outcomes.map((o) => [o.status, o.attempt])).toEqual([
      ["failed", 1],
      ["failed", 2],
      ["processed", 3],
    ]);
    const times = fake.requests.filter((r) => r.path === path).map((r) => r.at);
    expect(times).toHaveLength(3);
    expect(times[2]! - times[1]!).toBeGreaterThan(times[1]! - times[0]!);
    expect(
      await eventually(async () => ((await auditRow(id))?.status === "processed" ? auditRow(id) : undefined)),
    ).toMatchObject({
      status: "processed",
      retry_count: 2,
    });
    // the delivery service sends it on once the handler published it
    const note = await eventually(
      () => receiver.on("/notify").find((n) => (n.body as { event_id: string }).event_id === id),
      { message: "the notification" },
    );
    expect(note?.body).toMatchObject({
      status: "succeeded",
      fine_tuned_model: "ft:gpt-4o-mini:acme::t1",
      trained_tokens: 1234,
    });
    expect(note?.headers["idempotency-key"]).toBe(id);
  });

  it("dead-letters a permanent failure (404) after one delivery, with the reason", async () => {
    const body = ftEvent("fine_tuning.job.failed", "ftjob-missing");
    const id = JSON.parse(body).id;
    await publishEvent(js, topology, body);
    const [dead] = await eventually(
      async () => {
        const d = await dlqEntries(id);
        return d.length > 0 ? d : undefined;
      },
      { message: "a dead letter" },
    );
    expect(dead!.header.get(DlqHeader.Error)).toContain("404");
    expect(dead!.header.get(DlqHeader.Attempts)).toBe("1");
    expect(dead!.header.get(DlqHeader.Handler)).toBe("fine-tuning");
    expect(new TextDecoder().decode(dead!.data)).toBe(body);
    expect(fake.count("/v1/fine_tuning/jobs/ftjob-missing")).toBe(1);
    expect(
      await eventually(async () => ((await auditRow(id))?.status === "dead" ? auditRow(id) : undefined)),
    ).toMatchObject({
      status: "dead",
    });
  });

  it("dead-letters an always failing event after max_deliver deliveries, not one more", async () => {
    const path = "/v1/fine_tuning/jobs/ftjob-down";
    fake.fineTuningJob("ftjob-down");
    fake.failNext(50, 503, path);
    const body = ftEvent("fine_tuning.job.cancelled", "ftjob-down");
    const id = JSON.parse(body).id;
    await publishEvent(js, topology, body);
    await eventually(async () => (await dlqEntries(id)).length === 1, { message: "a dead letter" });
    await drained();
    // longer than an ack wait: a further delivery would have come by now
    await new Promise((r) => setTimeout(r, 3_500));
    expect(fake.count(path)).toBe(MAX_DELIVER);
    expect((await outcomesOf(id)).map((o) => o.status)).toEqual(["failed", "failed", "dead"]);
    fake.failNext(0, 503);
  });

  it("sends one notification and one deploy call for an event published twice outside the duplicate window", async () => {
    fake.fineTuningJob("ftjob-twice", { status: "succeeded", fine_tuned_model: "ft:twice" });
    const body = ftEvent("fine_tuning.job.succeeded", "ftjob-twice");
    const id = JSON.parse(body).id;
    await publishEvent(js, topology, body);
    await publishEvent(js, topology, body, { msgID: `${id}-again` });
    await eventually(async () => (await auditRow(id))?.status === "processed");
    await drained();
    const byEvent = (path: string) => receiver.on(path).filter((n) => n.headers["idempotency-key"] === id);
    await eventually(() => byEvent("/notify").length >= 1 && byEvent("/deploy").length >= 1, {
      message: "the notification and the deploy call",
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(byEvent("/notify")).toHaveLength(1);
    expect(byEvent("/deploy")).toHaveLength(1);
    expect(byEvent("/deploy")[0]!.body).toEqual({ job_id: "ftjob-twice", fine_tuned_model: "ft:twice" });
    // the projection's input: one snapshot for this event
    const snap = await jsm.streams.getMessage(topology.streams.fineTuning, {
      last_by_subj: `${topology.subjects.fineTuningPrefix}.ftjob-twice`,
    });
    expect(JSON.parse(new TextDecoder().decode(snap!.data))).toMatchObject({
      event_id: id,
      source: "api",
      job: { status: "succeeded" },
    });
  });

  it("shares the work between two instances and handles every event once", async () => {
    const second = await startHandler(fineTuningHandler, handlerConfig(), logger);
    handlers.push(second);
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      fake.fineTuningJob(`ftjob-scale-${i}`, { status: "running" });
      const body = ftEvent("fine_tuning.job.succeeded", `ftjob-scale-${i}`);
      ids.push(JSON.parse(body).id);
      await publishEvent(js, topology, body);
    }
    await eventually(async () => {
      const { rows } = await sql.query(
        "SELECT count(*)::int AS n FROM webhook_events WHERE event_id = ANY($1) AND status = 'processed'",
        [ids],
      );
      return rows[0].n === ids.length;
    });
    await drained();
    const notesOf = () =>
      receiver.on("/notify").filter((n) => ids.includes(n.headers["idempotency-key"] as string));
    await eventually(() => notesOf().length >= ids.length, { message: "every notification" });
    // one notification per event; a retried POST (a timeout on a loaded machine) carries
    // the same Idempotency-Key and webhook-id, which the receiver drops by
    const notes = notesOf();
    expect(new Set(notes.map((n) => n.headers["idempotency-key"])).size).toBe(ids.length);
    expect(new Set(notes.map((n) => n.headers["webhook-id"])).size).toBe(ids.length);
    const processedBy = await Promise.all(
      [first, second].map(async (h) => {
        const text = (await h.app.inject({ url: "/metrics" })).body;
        return Number(/hookstream_handler_processed_total\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
      }),
    );
    expect(processedBy.every((n) => n > 0)).toBe(true);
  });

  it("processes a dead letter replayed after the cause is fixed, and touches no other handler", async () => {
    const body = ftEvent("fine_tuning.job.succeeded", "ftjob-fixed");
    const id = JSON.parse(body).id;
    await publishEvent(js, topology, body);
    await eventually(async () => (await auditRow(id))?.status === "dead", { message: "dead first" });

    fake.fineTuningJob("ftjob-fixed", { status: "succeeded", fine_tuned_model: "ft:fixed" });
    const res = await admin.app.inject({
      method: "POST",
      url: "/admin/dlq/replay",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      payload: { handler: "fine-tuning", type: "fine_tuning.job.succeeded" },
    });
    expect(res.statusCode).toBe(200);
    await eventually(async () => (await auditRow(id))?.status === "processed", {
      message: "processed after the replay",
    });
    const { rows } = await sql.query("SELECT count(*)::int AS n FROM webhook_events WHERE event_id = $1", [
      id,
    ]);
    expect(rows[0].n).toBe(1);
    const replays = await jsm.streams.info(topology.streams.replays, { subjects_filter: ">" });
    expect(
      Object.keys(replays.state.subjects ?? {}).every((s) =>
        s.startsWith(`${topology.subjects.replaysPrefix}.fine-tuning.`),
      ),
    ).toBe(true);
    await eventually(() => receiver.on("/deploy").some((n) => n.headers["idempotency-key"] === id), {
      message: "the deploy call",
    });
    expect(receiver.on("/deploy").filter((n) => n.headers["idempotency-key"] === id)).toHaveLength(1);
  });

  it("records events of types no handler consumes as ignored", async () => {
    const bodies = [
      eventBody(UNHANDLED_EVENT_TYPE),
      eventBody("realtime.call.incoming", { data: { call_id: "call_1", sip_headers: [] } }),
    ];
    for (const b of bodies) await publishEvent(js, topology, b);
    for (const b of bodies) {
      expect(await eventually(async () => (await auditRow(JSON.parse(b).id))?.status)).toBe("ignored");
    }
  });
});
