/**
 * Bad input at the admin surface (issue 21, items 1 to 4), on real NATS and Postgres:
 * an event is its provider and its id (erasure tells two senders' events apart), no
 * id that becomes a subject token may hold a wildcard, a bad query answers 400 with a
 * code naming the parameter and never SQL or a stack, and each service describes
 * every route it registered at /openapi.json.
 */
import { type Admin, AdminConfigSchema, startAdmin } from "@hookstream/admin";
import { type Audit, AuditConfigSchema, startAudit } from "@hookstream/audit";
import { runCli } from "@hookstream/cli";
import { parseConfig } from "@hookstream/config";
import { dlqSubject, eventKey, MessageHeader, providerEventSubject } from "@hookstream/contracts";
import { type DeliveryConfig, deliveryConfig, startDelivery } from "@hookstream/delivery";
import { FineTuneConfigSchema, type FineTuneService, startFineTune } from "@hookstream/fine-tune";
import { type Gateway, GatewayConfig, startGateway } from "@hookstream/gateway";
import { OPENAPI_PATH, type RunningService, registeredRoutes } from "@hookstream/runtime";
import { eventBody, eventually, gatewayHeaders, publishEvent, testInfra } from "@hookstream/testing";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const TOKEN = "input-validation-token";
const logger = pino({ level: "silent" });
const infra = await testInfra(
  "inval",
  { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") },
  { ADMIN_TOKEN: TOKEN },
);
const { topology, db, js, jsm } = infra;
const common = infra.env;
const sql = new pg.Pool({ connectionString: db.url, max: 2 });
infra.defer(() => sql.end());
let audit: Audit;
let admin: Admin;
let fineTune: FineTuneService;
let delivery: RunningService<DeliveryConfig>;
let gateway: Gateway;
const auth = { authorization: `Bearer ${TOKEN}` };
const SHARED = "evt_shared_inval";

beforeAll(async () => {
  audit = infra.track(
    await startAudit(parseConfig(AuditConfigSchema, { ...common, AUDIT_MAX_NAK_DELAY_MS: "400" }), logger),
  );
  admin = infra.track(await startAdmin(parseConfig(AdminConfigSchema, common), logger));
  fineTune = infra.track(await startFineTune(parseConfig(FineTuneConfigSchema, common), logger));
  delivery = await startDelivery(
    deliveryConfig({
      ...common,
      DESTINATIONS: JSON.stringify([
        {
          name: "crm",
          url: "http://127.0.0.1:9/hook",
          secret: "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0",
        },
      ]),
    }),
    logger,
  );
  infra.track(delivery);
  gateway = await startGateway(
    parseConfig(GatewayConfig, {
      ...common,
      WEBHOOK_PROVIDERS: JSON.stringify([
        { name: "acme", secrets: ["whsec_YWNtZXNlY3JldGFjbWVzZWNyZXRhY21lc2VjcmV0"], envelope: "standard" },
      ]),
    }),
    logger,
  );
  infra.track(gateway.service);
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

afterAll(() => infra.close());

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

describe("a bad query answers 400 with a code naming the parameter (item 4)", () => {
  const get = (app: FastifyInstance, url: string) => app.inject({ url, headers: auth });
  const post = (app: FastifyInstance, url: string, payload: object) =>
    app.inject({ method: "POST", url, headers: auth, payload });

  it("answers the reported queries 400, the DLQ not empty: a cursor past bigint, a cursor of 1e308, since 100000001d, limit 99999999999", async () => {
    expect((await get(admin.app, "/admin/dlq")).json().count).toBeGreaterThan(0);
    expectClean400(
      await get(admin.app, "/admin/events/search?cursor=OTk5OTk5OTk5OTk5OTk5OTk5OQ"),
      "invalid_cursor",
      "a search cursor beyond bigint",
    );
    expectClean400(
      await get(fineTune.app, "/fine-tune-jobs?cursor=WzFlMzA4LCJhIl0"),
      "invalid_cursor",
      "a job cursor of 1e308",
    );
    expectClean400(await get(admin.app, "/admin/dlq?since=100000001d"), "invalid_since", "since 100000001d");
    expectClean400(
      await get(admin.app, "/admin/events?limit=99999999999"),
      "invalid_limit",
      "limit 99999999999",
    );
  });

  it("answers every other bad parameter of every route the same way, before any work", async () => {
    const cases: Array<[FastifyInstance, "GET" | "POST", string, object | undefined, string]> = [
      [admin.app, "GET", "/admin/events?limit=abc", undefined, "invalid_limit"],
      [admin.app, "GET", "/admin/events?status=nope", undefined, "invalid_status"],
      [admin.app, "GET", "/admin/events?type=a%20b", undefined, "invalid_type"],
      [admin.app, "GET", "/admin/dlq?handler=nobody", undefined, "invalid_handler"],
      [admin.app, "GET", "/admin/dlq?since=yesterday", undefined, "invalid_since"],
      [admin.app, "GET", "/admin/dlq?limit=0", undefined, "invalid_limit"],
      [admin.app, "POST", "/admin/dlq/replay", { since: "100000001d" }, "invalid_since"],
      [admin.app, "POST", "/admin/dlq/redrive", { seqs: [-1] }, "invalid_seqs"],
      [admin.app, "POST", "/admin/dlq/redrive", { seqs: [] }, "invalid_seqs"],
      [admin.app, "GET", "/admin/events/search?cursor=MA", undefined, "invalid_cursor"],
      [admin.app, "GET", "/admin/events/search?cursor=%E2%9C%93", undefined, "invalid_cursor"],
      [admin.app, "GET", "/admin/events/search?until=99999-01-01", undefined, "invalid_until"],
      [admin.app, "GET", "/admin/events/search?limit=501", undefined, "invalid_limit"],
      // a parameter the route does not take is refused, not ignored
      [admin.app, "GET", "/admin/events/search?from=2026-13-45", undefined, "invalid_from"],
      [admin.app, "GET", "/admin/dlq?handlr=batch", undefined, "invalid_handlr"],
      [admin.app, "GET", "/admin/events/live?since=100000001d", undefined, "invalid_since"],
      [admin.app, "GET", "/admin/events/evt_x?provider=NOT%20ONE", undefined, "invalid_provider"],
      [admin.app, "GET", "/admin/events/a.b/deliveries", undefined, "invalid_event_id"],
      [admin.app, "POST", "/admin/replay/evt_x", { waitMs: 999_999 }, "invalid_waitMs"],
      [admin.app, "POST", "/admin/replay/evt_x", { handler: "nobody" }, "invalid_handler"],
      [admin.app, "POST", "/admin/replay", { handler: "batch", since: "100000001d" }, "invalid_since"],
      [admin.app, "POST", "/admin/replay", { handler: "batch", rate: 1e9 }, "invalid_rate"],
      [admin.app, "GET", "/api/jobs?cursor=WzFlMzA4LCJhIl0", undefined, "invalid_cursor"],
      [admin.app, "GET", "/api/jobs/a.b", undefined, "invalid_id"],
      [admin.app, "POST", "/api/destinations/a.b/pause", {}, "invalid_name"],
      [fineTune.app, "GET", "/fine-tune-jobs?limit=0", undefined, "invalid_limit"],
      [fineTune.app, "GET", "/fine-tune-jobs?status=nope", undefined, "invalid_status"],
      [fineTune.app, "GET", "/fine-tune-jobs?cursor=WyJhIiwiYiJd", undefined, "invalid_cursor"],
      [fineTune.app, "GET", "/fine-tune-jobs?page=2", undefined, "invalid_page"],
      [delivery.app, "POST", "/admin/destinations/crm/pause", { reason: "x".repeat(501) }, "invalid_reason"],
      [delivery.app, "POST", "/admin/destinations/a.b/resume", {}, "invalid_name"],
    ];
    for (const [app, method, url, payload, code] of cases) {
      const res = await app.inject({ method, url, headers: auth, ...(payload ? { payload } : {}) });
      expectClean400(res, code, `${method} ${url} ${JSON.stringify(payload ?? "")}`);
    }
    // the CLI checks what it sends with the same schemas: a usage error naming the option
    const env = { HOOKSTREAM_ADMIN_URL: "http://127.0.0.1:9", ADMIN_TOKEN: TOKEN };
    for (const [argv, option] of [
      [["dlq", "list", "--since", "100000001d"], "--since"],
      [["jobs", "--limit", "0"], "--limit"],
      [["erase", "--resource", "fine_tuning_job:>", "--dry-run"], "--resource"],
      [["replay", "--handler", "batch", "--until", "99999-01-01", "--dry-run"], "--until"],
    ] as const) {
      const r = await runCli([...argv], env);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.err, argv.join(" ")).toContain(option);
    }
    // the right token still comes first: a bad query without one is 401, not 400
    const anonymous = await admin.app.inject({ url: "/admin/events?limit=abc" });
    expect(anonymous.statusCode).toBe(401);
    // and a good one is answered
    expect((await post(admin.app, "/admin/dlq/redrive", { seqs: [999_999] })).json()).toMatchObject({
      replayed: 0,
    });
  });

  it("serves /openapi.json on every service with an HTTP API, listing every route it registered with its parameters", async () => {
    const services: Array<[string, FastifyInstance]> = [
      ["admin", admin.app],
      ["fine-tune", fineTune.app],
      ["delivery", delivery.app],
      ["gateway", gateway.app],
      ["audit", audit.app],
    ];
    for (const [name, app] of services) {
      const res = await app.inject({ url: OPENAPI_PATH });
      expect(res.statusCode, name).toBe(200);
      const doc = res.json() as {
        openapi: string;
        info: { title: string };
        paths: Record<string, Record<string, OpenApiOperation>>;
      };
      expect(doc.openapi, name).toBe("3.1.0");
      expect(doc.info.title, name).toBe(`hookstream ${name}`);
      const routes = registeredRoutes(app).filter(
        // HEAD twins of GET routes; the console's files (@fastify/static, hidden: they are files, not API)
        (r) => r.method !== "HEAD" && !(r.schema as { hide?: boolean } | undefined)?.hide,
      );
      expect(routes.length, name).toBeGreaterThanOrEqual(4);
      for (const r of routes) {
        const what = `${name}: ${r.method} ${r.url}`;
        const op = doc.paths[openApiPath(r.url)]?.[String(r.method).toLowerCase()];
        expect(op, what).toBeDefined();
        const listed = new Set((op?.parameters ?? []).map((p) => `${p.in} ${p.name}`));
        const schema = r.schema as { params?: ZodObjectLike; querystring?: ZodObjectLike } | undefined;
        for (const key of Object.keys(schema?.params?.shape ?? {}))
          expect(listed, what).toContain(`path ${key}`);
        for (const key of Object.keys(schema?.querystring?.shape ?? {}))
          expect(listed, what).toContain(`query ${key}`);
        if ((r.schema as { body?: unknown } | undefined)?.body !== undefined)
          expect(op?.requestBody, `${what} body`).toBeDefined();
      }
    }
    // the routes the issue names, with their parameters
    const admin_ = (await admin.app.inject({ url: OPENAPI_PATH })).json();
    const names = (path: string, method: string) =>
      (admin_.paths[path][method].parameters as NonNullable<OpenApiOperation["parameters"]>).map(
        (p) => p.name,
      );
    expect(names("/admin/events/search", "get")).toEqual(
      expect.arrayContaining(["cursor", "limit", "since"]),
    );
    expect(names("/admin/dlq", "get")).toEqual(expect.arrayContaining(["handler", "since", "limit"]));
    expect(admin_.paths["/admin/erase"].post.security).toEqual([{ adminToken: [] }]);
    const gatewayDoc = (await gateway.app.inject({ url: OPENAPI_PATH })).json();
    expect(gatewayDoc.paths["/webhooks/openai"].post.parameters.map((p: { name: string }) => p.name)).toEqual(
      expect.arrayContaining(["webhook-id", "webhook-timestamp", "webhook-signature"]),
    );
  });
});

type ZodObjectLike = { shape: Record<string, unknown> };
type OpenApiOperation = {
  parameters?: Array<{ in: string; name: string }>;
  requestBody?: unknown;
  security?: unknown;
};

/** Fastify's `/a/:b` and `/*` as OpenAPI writes them: `/a/{b}`, `/{*}`. */
function openApiPath(url: string): string {
  return url.replace(/:(\w+)/g, "{$1}").replace(/\*$/, "{*}");
}
