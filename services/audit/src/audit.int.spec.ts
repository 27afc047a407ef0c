import { runCli } from "@hookstream/cli";
import {
  DlqHeader,
  DURABLES,
  dlqSubject,
  type Outcome,
  outcomeSubject,
  ReplayHeader,
  UNHANDLED_EVENT_TYPE,
} from "@hookstream/contracts";
import { createLogger, createRegistry } from "@hookstream/observability";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  eventually,
  publishEvent,
  testTopology,
} from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, headers as natsHeaders } from "@nats-io/transport-node";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { testAuditConfig } from "../testing/testAuditConfig";
import { buildApp } from "./app";
import { createAuditMetrics } from "./auditMetrics";
import { WebhookEvent } from "./db/WebhookEvent";
import { applyOutcome, type OutcomeFields } from "./outcomes/applyOutcome";
import { recordOutcomes } from "./outcomes/recordOutcomes";
import { type Audit, startAudit } from "./startAudit";

const TOKEN = "test-admin-token";
const topology = testTopology("audit");
const db = await createTestDatabase(inject("databaseUrl"), "audit");
const natsUrl = inject("natsUrl");
const nc = await connect({ servers: natsUrl.split(",") });
const js = jetstream(nc);
const jsm = await jetstreamManager(nc);
const logger = createLogger({ name: "audit-test", level: "silent" });
let audit: Audit;

beforeAll(async () => {
  audit = await startAudit(
    testAuditConfig({ natsUrl, databaseUrl: db.url, topology, adminToken: TOKEN }),
    logger,
  );
});

afterAll(async () => {
  for (const step of audit.steps) await step.close();
  await deleteStreams(jsm, topology);
  await nc.close();
  await db.drop();
});

// undefined, not null, while missing: eventually() waits for a value that is not undefined
const rowOf = async (eventId: string) =>
  (await audit.orm.em.fork().findOne(WebhookEvent, { eventId })) ?? undefined;
const countOf = (eventId: string) => audit.orm.em.fork().count(WebhookEvent, { eventId });
const auth = { authorization: `Bearer ${TOKEN}` };

function outcome(eventId: string, status: Outcome["status"], attempt: number, error: string | null = null) {
  return {
    event_id: eventId,
    event_type: "batch.completed",
    handler: "batch",
    status,
    attempt,
    error,
    at: new Date().toISOString(),
    stream_seq: null,
    replay: false,
  } satisfies Outcome;
}

describe("the audit consumer", () => {
  it("writes one row per event with the contract columns", async () => {
    const body = eventBody("fine_tuning.job.succeeded", { id: "evt_cols", data: { id: "ftjob-abc" } });
    const ack = await publishEvent(js, topology, body);
    const row = await eventually(() => rowOf("evt_cols"), { message: "the row" });
    expect(row).toMatchObject({
      eventType: "fine_tuning.job.succeeded",
      webhookId: "wh_evt_cols",
      signature: "v1,c2lnbmF0dXJl",
      status: "pending",
      retryCount: 0,
      resourceType: "fine_tuning_job",
      resourceId: "ftjob-abc",
      streamSeq: ack.seq,
      subject: `${topology.subjects.openaiPrefix}.fine_tuning.job.succeeded`,
    });
    expect(row?.timestamp?.toISOString()).toBe(new Date(1750861210 * 1000).toISOString());
    expect(row?.payload).toEqual(JSON.parse(body));
    expect(row?.headers?.["Event-Type"]).toBe("fine_tuning.job.succeeded");
    expect(row?.headers?.["Nats-Msg-Id"]).toBe("evt_cols");
  });

  it("keeps one row when the same event is re-published outside the duplicate window", async () => {
    const body = eventBody("batch.completed", { id: "evt_twice" });
    await publishEvent(js, topology, body, { msgID: "evt_twice" });
    await eventually(() => rowOf("evt_twice"));
    // another msg id is what a re-publish after the duplicate window looks like to the stream
    await publishEvent(js, topology, body, { msgID: "evt_twice-later" });
    await publishEvent(js, topology, eventBody("batch.completed", { id: "evt_after_twice" }));
    await eventually(() => rowOf("evt_after_twice"));
    expect(await countOf("evt_twice")).toBe(1);
  });

  it("records a type with no handler as ignored, and a body that is not JSON as { raw }", async () => {
    await publishEvent(js, topology, eventBody(UNHANDLED_EVENT_TYPE, { id: "evt_eval" }));
    await publishEvent(js, topology, "this is not json", { msgID: "evt_raw", type: "batch.failed" });
    expect((await eventually(() => rowOf("evt_eval")))?.status).toBe("ignored");
    const raw = await eventually(() => rowOf("evt_raw"));
    expect(raw).toMatchObject({ status: "pending", payload: { raw: "this is not json" } });
  });

  it("stores a body Postgres refuses as jsonb as { raw } and acks it, instead of retrying it forever", async () => {
    // JSON.parse takes it; jsonb refuses the lone surrogate escape
    const body = '{"id":"evt_surrogate","type":"batch.failed","data":{"id":"batch_1","note":"\\udc00"}}';
    await publishEvent(js, topology, body, { msgID: "evt_surrogate", type: "batch.failed" });
    await publishEvent(js, topology, eventBody("batch.failed", { id: "evt_beside" }));
    const row = await eventually(() => rowOf("evt_surrogate"));
    expect(row).toMatchObject({ status: "pending", payload: { raw: body }, resourceId: "batch_1" });
    expect(row?.metadata).toMatchObject({ unparsed: true });
    expect(await eventually(() => rowOf("evt_beside"))).toBeDefined();
    await eventually(async () => {
      const c = await jsm.consumers.info(topology.streams.webhooks, DURABLES.audit);
      return c.num_ack_pending === 0 && c.num_pending === 0 ? true : undefined;
    });
  });
});

describe("the outcomes fold", () => {
  it("folds failed, failed, processed into processed with retry_count 2", async () => {
    await publishEvent(js, topology, eventBody("batch.completed", { id: "evt_fold" }));
    await eventually(() => rowOf("evt_fold"));
    for (const o of [
      outcome("evt_fold", "failed", 1, "500"),
      outcome("evt_fold", "failed", 2, "500 again"),
      outcome("evt_fold", "processed", 3),
    ]) {
      await js.publish(outcomeSubject(topology, "batch", o.status), JSON.stringify(o));
    }
    const row = await eventually(async () => {
      const r = await rowOf("evt_fold");
      return r?.status === "processed" ? r : undefined;
    });
    expect(row).toMatchObject({ retryCount: 2, errorMessage: "500 again" });
    expect(row?.processedAt).toBeInstanceOf(Date);
  });

  it("keeps the status of outcomes that arrive before the event's own row", async () => {
    await js.publish(
      outcomeSubject(topology, "batch", "failed"),
      JSON.stringify(outcome("evt_early", "failed", 1, "boom")),
    );
    await js.publish(
      outcomeSubject(topology, "batch", "processed"),
      JSON.stringify(outcome("evt_early", "processed", 2)),
    );
    const placeholder = await eventually(async () => {
      const r = await rowOf("evt_early");
      return r?.status === "processed" ? r : undefined;
    });
    expect(placeholder.subject).toBeNull();
    const body = eventBody("batch.completed", { id: "evt_early", data: { id: "batch_9" } });
    await publishEvent(js, topology, body);
    const row = await eventually(async () => {
      const r = await rowOf("evt_early");
      return r?.subject ? r : undefined;
    });
    expect(row).toMatchObject({
      status: "processed",
      retryCount: 1,
      errorMessage: "boom",
      resourceId: "batch_9",
    });
    expect(row.payload).toEqual(JSON.parse(body));
    expect(await countOf("evt_early")).toBe(1);
  });

  it("applies the same rules in SQL as applyOutcome, in any order", async () => {
    const statuses = ["processed", "failed", "ignored", "dead"] as const;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ status: fc.constantFrom(...statuses), attempt: fc.integer({ min: 1, max: 6 }) }),
          { minLength: 1, maxLength: 6 },
        ),
        async (steps) => {
          const id = `evt_prop_${n++}`;
          const outcomes = steps.map((s, i) =>
            outcome(id, s.status, s.attempt, s.status === "failed" || s.status === "dead" ? `e${i}` : null),
          );
          await recordOutcomes(audit.orm.em.fork(), outcomes, new Date());
          const expected = outcomes.reduce<OutcomeFields | null>((r, o) => applyOutcome(r, o).row, null);
          const row = await rowOf(id);
          expect({
            status: row?.status,
            retryCount: row?.retryCount,
            errorMessage: row?.errorMessage ?? null,
            processedAt: row?.processedAt?.getTime() ?? null,
          }).toEqual({
            status: expected?.status,
            retryCount: expected?.retryCount,
            errorMessage: expected?.errorMessage,
            processedAt: expected?.processedAt?.getTime() ?? null,
          });
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe("the admin API", () => {
  it("refuses a missing token with 401 and a wrong one with 403", async () => {
    const none = await audit.app.inject({ method: "GET", url: "/admin/events" });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: "unauthorized" });
    const wrong = await audit.app.inject({
      method: "POST",
      url: "/admin/dlq/replay",
      headers: { authorization: "Bearer nope" },
      payload: {},
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ error: "forbidden" });
  });

  it("answers 503 on every admin route when ADMIN_TOKEN is unset", async () => {
    const registry = createRegistry("audit", { defaultMetrics: false });
    const app = buildApp({
      logger,
      registry,
      metrics: createAuditMetrics(registry),
      em: audit.orm.em,
      js,
      jsm,
      topology,
      adminToken: undefined,
      readiness: async () => null,
      now: () => new Date(),
    });
    for (const [method, url] of [
      ["GET", "/admin/events"],
      ["GET", "/admin/dlq"],
      ["POST", "/admin/dlq/replay"],
      ["POST", "/admin/replay/evt_x"],
    ] as const) {
      const res = await app.inject({ method, url, headers: auth });
      expect(res.statusCode).toBe(503);
      expect(res.json().message).toMatch(/ADMIN_TOKEN/);
    }
    await app.close();
  });

  it("lists events filtered by status and type", async () => {
    await eventually(() => rowOf("evt_eval"));
    const res = await audit.app.inject({
      method: "GET",
      url: `/admin/events?status=ignored&type=${UNHANDLED_EVENT_TYPE}&limit=5`,
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    const ids = res.json().events.map((e: { event_id: string }) => e.event_id);
    expect(ids).toContain("evt_eval");
    const bad = await audit.app.inject({ method: "GET", url: "/admin/events?status=nope", headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: "bad_request" });
  });

  it("lists dead letters and redrives the matching ones to the replay subject, out of the DLQ", async () => {
    const bodies = new Map<string, string>();
    const dead = async (handler: string, type: string, id: string) => {
      bodies.set(id, eventBody(type, { id }));
      const h = natsHeaders();
      h.set("Nats-Msg-Id", id);
      h.set("Event-Type", type);
      h.set("Webhook-Id", `wh_${id}`);
      h.set(DlqHeader.Handler, handler);
      h.set(DlqHeader.Attempts, "8");
      h.set(DlqHeader.Error, "500 from upstream");
      h.set(DlqHeader.DeadAt, new Date().toISOString());
      h.set(DlqHeader.EventId, id);
      h.set(DlqHeader.EventType, type);
      await js.publish(dlqSubject(topology, handler, type), bodies.get(id) ?? "", { headers: h });
    };
    await dead("batch", "batch.completed", "evt_dlq_1");
    await dead("batch", "batch.failed", "evt_dlq_2");
    await dead("response", "response.completed", "evt_dlq_3");

    const list = await audit.app.inject({ method: "GET", url: "/admin/dlq?handler=batch", headers: auth });
    expect(list.statusCode).toBe(200);
    expect(list.json().count).toBe(2);
    expect(list.json().messages[0]).toMatchObject({
      handler: "batch",
      event_type: "batch.completed",
      event_id: "evt_dlq_1",
      attempts: 8,
      error: "500 from upstream",
    });
    const unknown = await audit.app.inject({ method: "GET", url: "/admin/dlq?handler=nope", headers: auth });
    expect(unknown.statusCode).toBe(400);

    const replay = await audit.app.inject({
      method: "POST",
      url: "/admin/dlq/replay",
      headers: auth,
      payload: { handler: "batch", since: "1h" },
    });
    expect(replay.statusCode).toBe(200);
    expect(replay.json().replayed).toBe(2);

    const replayed = await jsm.streams.getMessage(topology.streams.replays, {
      last_by_subj: `${topology.subjects.replaysPrefix}.batch.batch.completed`,
    });
    expect(replayed?.string()).toBe(bodies.get("evt_dlq_1"));
    expect(JSON.parse(replayed?.string() ?? "{}").id).toBe("evt_dlq_1");
    expect(replayed?.header.get(ReplayHeader.Force)).toBe("false");
    expect(replayed?.header.get("Webhook-Id")).toBe("wh_evt_dlq_1");
    expect(replayed?.header.get(DlqHeader.Error)).toBe("");

    const after = await audit.app.inject({ method: "GET", url: "/admin/dlq", headers: auth });
    expect(after.json().messages.map((m: { event_id: string }) => m.event_id)).toEqual(["evt_dlq_3"]);
  });

  it("replays one event's original bytes to one handler, and never makes a second audit row", async () => {
    const body = eventBody("response.completed", { id: "evt_replay", data: { id: "resp_1" } });
    await publishEvent(js, topology, body);
    await eventually(() => rowOf("evt_replay"));

    const res = await audit.app.inject({
      method: "POST",
      url: "/admin/replay/evt_replay",
      headers: auth,
      payload: { force: true },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ handler: "response", force: true });
    const msg = await jsm.streams.getMessage(topology.streams.replays, { seq: res.json().replay_seq });
    expect(msg?.subject).toBe(`${topology.subjects.replaysPrefix}.response.response.completed`);
    expect(Buffer.from(msg?.data ?? []).equals(Buffer.from(body))).toBe(true);
    expect(msg?.header.get(ReplayHeader.Force)).toBe("true");
    expect(msg?.header.get(ReplayHeader.Target)).toBe("response");

    const other = await audit.app.inject({
      method: "POST",
      url: "/admin/replay/evt_replay",
      headers: auth,
      payload: { handler: "batch" },
    });
    // a handler that does not take the type refuses it (issue 8, defect 6)
    expect(other.statusCode).toBe(400);
    expect(other.json().message).toMatch(/handler batch does not take events of type response\.completed/);

    const missing = await audit.app.inject({ method: "POST", url: "/admin/replay/evt_none", headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: "not_found" });
    const badHandler = await audit.app.inject({
      method: "POST",
      url: "/admin/replay/evt_replay",
      headers: auth,
      payload: { handler: "nope" },
    });
    expect(badHandler.statusCode).toBe(400);
    const noHandler = await audit.app.inject({
      method: "POST",
      url: "/admin/replay/evt_eval",
      headers: auth,
    });
    expect(noHandler.statusCode).toBe(400);

    // let the audit consumer catch up with anything after the replays: still one row
    await publishEvent(js, topology, eventBody("batch.completed", { id: "evt_after_replay" }));
    await eventually(() => rowOf("evt_after_replay"));
    expect(await countOf("evt_replay")).toBe(1);
  });

  it("answers /readyz and exposes the audit metrics", async () => {
    expect((await audit.app.inject({ method: "GET", url: "/readyz" })).statusCode).toBe(200);
    const metrics = (await audit.app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toMatch(/hookstream_audit_rows_inserted_total\{service="audit"\} \d+/);
    expect(metrics).toMatch(/hookstream_audit_duplicates_total/);
    expect(metrics).toMatch(/hookstream_consumer_pending\{[^}]*durable="audit"/);
  });
});

describe("the CLI's dlq and replay commands", () => {
  it("call the admin API and say clearly when they are refused or it is unreachable", async () => {
    const address = await audit.app.listen({ port: 0, host: "127.0.0.1" });
    const env = { HOOKSTREAM_ADMIN_URL: address, ADMIN_TOKEN: TOKEN };

    const list = await runCli(["dlq", "list", "--handler", "response"], env);
    expect(list).toMatchObject({ code: 0 });
    expect(list.out).toMatch(/evt_dlq_3/);

    const replayed = await runCli(["replay", "evt_replay", "--handler", "response", "--force"], env);
    expect(replayed.code).toBe(0);
    expect(replayed.out).toMatch(/replayed evt_replay to response \(forced\)/);

    const redrive = await runCli(["dlq", "replay", "--type", "response.completed"], env);
    expect(redrive.out).toMatch(/1 dead letter\(s\) replayed/);

    const refused = await runCli(["dlq", "list"], { ...env, ADMIN_TOKEN: "wrong" });
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/refused by the admin API \(403\)/);

    const unknown = await runCli(["replay", "evt_nowhere"], env);
    expect(unknown.err).toMatch(/404: no event evt_nowhere/);

    const away = await runCli(["dlq", "list"], { ...env, HOOKSTREAM_ADMIN_URL: "http://127.0.0.1:9" });
    expect(away.err).toMatch(/does not answer at http:\/\/127\.0\.0\.1:9/);
  });
});
