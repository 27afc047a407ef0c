import {
  type Admin,
  AdminConfigSchema,
  buildApp,
  createAdminMetrics,
  ReplayLocks,
  startAdmin,
} from "@hookstream/admin";
import { type Audit, AuditConfigSchema, startAudit } from "@hookstream/audit";
import { WebhookEvent } from "@hookstream/audit-store";
import { runCli } from "@hookstream/cli";
import { parseConfig } from "@hookstream/config";
import {
  DlqHeader,
  dlqSubject,
  type Outcome,
  ReplayHeader,
  UNHANDLED_EVENT_TYPE,
} from "@hookstream/contracts";
import { createLogger, createRegistry } from "@hookstream/observability";
import { eventBody, eventually, publishEvent, testInfra } from "@hookstream/testing";
import { Kvm } from "@nats-io/kv";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const TOKEN = "test-admin-token";
const infra = await testInfra(
  "adminapi",
  { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") },
  { ADMIN_TOKEN: TOKEN },
);
const { topology, js, jsm } = infra;
const logger = createLogger({ name: "audit-test", level: "silent" });
let audit: Audit;
let admin: Admin;

beforeAll(async () => {
  audit = infra.track(
    await startAudit(parseConfig(AuditConfigSchema, { ...infra.env, AUDIT_MAX_NAK_DELAY_MS: "400" }), logger),
  );
  admin = infra.track(await startAdmin(parseConfig(AdminConfigSchema, infra.env), logger));
});

afterAll(() => infra.close());

// undefined, not null, while missing: eventually() waits for a value that is not undefined
const rowOf = async (eventId: string) =>
  (await audit.orm.em.fork().findOne(WebhookEvent, { eventId })) ?? undefined;
const countOf = (eventId: string) => audit.orm.em.fork().count(WebhookEvent, { eventId });
const auth = { authorization: `Bearer ${TOKEN}` };

function _outcome(eventId: string, status: Outcome["status"], attempt: number, error: string | null = null) {
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

/**
 * The admin service's API (services/admin) beside the audit writer that fills the
 * tables it reads: listing, dead letters and their redrive, single replay, and the
 * CLI commands that call it. (These lived in the audit's own test before the split.)
 */
describe("the admin API", () => {
  it("refuses a missing token with 401 and a wrong one with 403", async () => {
    const none = await admin.app.inject({ method: "GET", url: "/admin/events" });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toMatchObject({ error: "unauthorized" });
    const wrong = await admin.app.inject({
      method: "POST",
      url: "/admin/dlq/replay",
      headers: { authorization: "Bearer nope" },
      payload: {},
    });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json()).toMatchObject({ error: "forbidden" });
  });

  it("answers 503 on every admin route when ADMIN_TOKEN is unset", async () => {
    const registry = createRegistry("admin", { defaultMetrics: false });
    const app = buildApp({
      logger,
      registry,
      metrics: createAdminMetrics(registry),
      em: admin.orm.em,
      js,
      jsm,
      topology,
      adminToken: undefined,
      readiness: async () => null,
      now: () => new Date(),
      replayLocks: await ReplayLocks.open(await new Kvm(js).open(topology.buckets.replayLocks)),
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
    await publishEvent(js, topology, eventBody(UNHANDLED_EVENT_TYPE, { id: "evt_eval" }));
    await eventually(() => rowOf("evt_eval"));
    const res = await admin.app.inject({
      method: "GET",
      url: `/admin/events?status=ignored&type=${UNHANDLED_EVENT_TYPE}&limit=5`,
      headers: auth,
    });
    expect(res.statusCode).toBe(200);
    const ids = res.json().events.map((e: { event_id: string }) => e.event_id);
    expect(ids).toContain("evt_eval");
    const bad = await admin.app.inject({ method: "GET", url: "/admin/events?status=nope", headers: auth });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: "invalid_status" });
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

    const list = await admin.app.inject({ method: "GET", url: "/admin/dlq?handler=batch", headers: auth });
    expect(list.statusCode).toBe(200);
    expect(list.json().count).toBe(2);
    expect(list.json().messages[0]).toMatchObject({
      handler: "batch",
      event_type: "batch.completed",
      event_id: "evt_dlq_1",
      attempts: 8,
      error: "500 from upstream",
    });
    const unknown = await admin.app.inject({ method: "GET", url: "/admin/dlq?handler=nope", headers: auth });
    expect(unknown.statusCode).toBe(400);

    const replay = await admin.app.inject({
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

    const after = await admin.app.inject({ method: "GET", url: "/admin/dlq", headers: auth });
    expect(after.json().messages.map((m: { event_id: string }) => m.event_id)).toEqual(["evt_dlq_3"]);
  });

  it("replays one event's original bytes to one handler, and never makes a second audit row", async () => {
    const body = eventBody("response.completed", { id: "evt_replay", data: { id: "resp_1" } });
    await publishEvent(js, topology, body);
    await eventually(() => rowOf("evt_replay"));

    const res = await admin.app.inject({
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

    const other = await admin.app.inject({
      method: "POST",
      url: "/admin/replay/evt_replay",
      headers: auth,
      payload: { handler: "batch" },
    });
    // a handler that does not take the type refuses it (issue 8, defect 6)
    expect(other.statusCode).toBe(400);
    expect(other.json().message).toMatch(/handler batch does not take events of type response\.completed/);

    const missing = await admin.app.inject({ method: "POST", url: "/admin/replay/evt_none", headers: auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: "not_found" });
    const badHandler = await admin.app.inject({
      method: "POST",
      url: "/admin/replay/evt_replay",
      headers: auth,
      payload: { handler: "nope" },
    });
    expect(badHandler.statusCode).toBe(400);
    const noHandler = await admin.app.inject({
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
});

describe("the CLI's dlq and replay commands", () => {
  it("call the admin API and say clearly when they are refused or it is unreachable", async () => {
    const address = await admin.app.listen({ port: 0, host: "127.0.0.1" });
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
