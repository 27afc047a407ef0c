/**
 * Replay end to end: the admin service's API, a real batch handler (its inbox and
 * replay durable) and the CLI's `main(argv)`, on real NATS and Postgres. Issue 8
 * defect 6 (replay refusal, the inbox's verdict) and issue 13 item 4 (bulk replay).
 */
import http from "node:http";
import { type Admin, AdminConfigSchema, startAdmin } from "@hookstream/admin";
import { AuditConfigSchema, startAudit } from "@hookstream/audit";
import { batchHandler } from "@hookstream/batch-handler";
import { runCli } from "@hookstream/cli";
import { parseConfig } from "@hookstream/config";
import { eventBody, MAX_REPLAY_RATE } from "@hookstream/contracts";
import { deliveryConfig, startDelivery } from "@hookstream/delivery";
import { type HandlerConfig, handlerConfigSchema, startHandler } from "@hookstream/handler-kit";
import { eventually, NotificationReceiver, publishEvent, testInfra } from "@hookstream/testing";
import { Kvm } from "@nats-io/kv";
import pg from "pg";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

const TOKEN = "replay-test-token";
const logger = pino({ level: "silent" });
const infra = await testInfra(
  "rpl",
  { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") },
  { ADMIN_TOKEN: TOKEN },
);
const { topology, db, js, jsm } = infra;
const receiver = await NotificationReceiver.start();
infra.defer(() => receiver.close());
const sql = new pg.Pool({ connectionString: db.url, max: 2 });
infra.defer(() => sql.end());
let admin: Admin;
let env: Record<string, string>;

beforeAll(async () => {
  infra.track(
    await startAudit(parseConfig(AuditConfigSchema, { ...infra.env, AUDIT_MAX_NAK_DELAY_MS: "400" }), logger),
  );
  admin = infra.track(
    await startAdmin(
      parseConfig(AdminConfigSchema, {
        ...infra.env,
        // the bucket this admin creates: a dead instance's bulk-replay lock ends 3 s after its last renewal
        REPLAY_LOCK_TTL_MS: "3000",
      }),
      logger,
    ),
  );
  infra.track(
    await startHandler(
      batchHandler,
      parseConfig(handlerConfigSchema("BATCH_HANDLER_PORT", 3003), {
        ...infra.env,
        HANDLER_ACK_WAIT_MS: "3000",
        HANDLER_BASE_DELAY_MS: "100",
        HANDLER_MAX_DELAY_MS: "1000",
      }) as HandlerConfig,
      logger,
    ),
  );
  infra.track(
    await startDelivery(deliveryConfig({ ...infra.env, NOTIFY_URLS: receiver.url("/notify") }), logger),
  );
  const address = await admin.app.listen({ port: 0, host: "127.0.0.1" });
  env = { HOOKSTREAM_ADMIN_URL: address, ADMIN_TOKEN: TOKEN };
});

afterAll(() => infra.close());

const cli = (argv: string[]) => runCli(argv, env);

const auth = { authorization: `Bearer ${TOKEN}` };
const statusOf = async (eventId: string) =>
  (await sql.query("SELECT status FROM webhook_events WHERE event_id = $1", [eventId])).rows[0]?.status as
    | string
    | undefined;
const notified = (eventId: string) =>
  receiver.on("/notify").filter((n) => (n.body as { event_id?: string }).event_id === eventId).length;
async function replayCount(handlerName: string): Promise<number> {
  const info = await jsm.streams.info(topology.streams.replays, {
    subjects_filter: `${topology.subjects.replaysPrefix}.${handlerName}.>`,
  });
  return Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
}

describe("issue 8, defect 6: replay to a handler that does not take the type", () => {
  it("refuses replay --handler batch of a fine-tuning event: 400 from the API, exit 1 from the CLI, nothing published", async () => {
    await publishEvent(
      js,
      topology,
      eventBody("fine_tuning.job.succeeded", { id: "evt_ft_1", data: { id: "ftjob-1" } }),
    );
    await eventually(() => statusOf("evt_ft_1"), { message: "the audit row" });
    const before = await replayCount("batch");

    const api = await admin.app.inject({
      method: "POST",
      url: "/admin/replay/evt_ft_1",
      headers: auth,
      payload: { handler: "batch" },
    });
    expect(api.statusCode).toBe(400);
    expect(api.json().message).toMatch(
      /handler batch does not take events of type fine_tuning\.job\.succeeded/,
    );

    const r = await cli(["replay", "evt_ft_1", "--handler", "batch"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/400: handler batch does not take events of type fine_tuning\.job\.succeeded/);
    expect(r.out).not.toMatch(/replayed/);

    // the bulk form refuses the same type before reading anything
    const bulk = await cli(["replay", "--handler", "batch", "--type", "fine_tuning.job.succeeded"]);
    expect(bulk.code).toBe(1);
    expect(bulk.err).toMatch(/400: handler batch does not take events of type fine_tuning\.job\.succeeded/);
    // a misspelled type of the handler's own domain is not one it takes either
    const typo = await cli(["replay", "--handler", "batch", "--type", "batch.complete", "--dry-run"]);
    expect(typo.code).toBe(1);

    expect(await replayCount("batch")).toBe(before);
  });
});

describe("issue 8, defect 6: a replay the inbox skips", () => {
  it('prints "already handled; nothing done (use --force)", not "replayed"; --force does the work again', async () => {
    await publishEvent(
      js,
      topology,
      eventBody("batch.completed", { id: "evt_b_skip", data: { id: "batch_skip" } }),
    );
    await eventually(async () => (await statusOf("evt_b_skip")) === "processed", { message: "processed" });
    expect(notified("evt_b_skip")).toBe(1);

    const skipped = await cli(["replay", "evt_b_skip"]);
    expect(skipped.code, skipped.err).toBe(0);
    expect(skipped.out).toBe("evt_b_skip: already handled by batch; nothing done (use --force)\n");
    expect(notified("evt_b_skip")).toBe(1);

    const api = await admin.app.inject({
      method: "POST",
      url: "/admin/replay/evt_b_skip",
      headers: auth,
      payload: {},
    });
    expect(api.json()).toMatchObject({ handler: "batch", verdict: "skipped" });

    const forced = await cli(["replay", "evt_b_skip", "--force"]);
    expect(forced.code, forced.err).toBe(0);
    expect(forced.out).toMatch(
      /^replayed evt_b_skip to batch \(forced\) as .*: processed(: handled from the webhook alone: .*)?\n$/,
    );
    expect(notified("evt_b_skip")).toBe(2);
  });
});

describe("issue 13: bulk replay by filter", () => {
  const ids = ["evt_bulk_1", "evt_bulk_2", "evt_bulk_3", "evt_bulk_4", "evt_bulk_5"];

  it("counts with --dry-run, honours every filter, refuses what it cannot do", async () => {
    for (const [i, id] of ids.entries()) {
      const type = i === 4 ? "batch.failed" : "batch.completed";
      await publishEvent(js, topology, eventBody(type, { id, data: { id: `batch_bulk_${i + 1}` } }));
    }
    await eventually(
      async () => {
        for (const id of ids) if ((await statusOf(id)) !== "processed") return false;
        return true;
      },
      { message: "every bulk event processed" },
    );

    const all = await cli(["replay", "--handler", "batch", "--since", "1h", "--dry-run", "--json"]);
    expect(all.code, all.err).toBe(0);
    // evt_b_skip from the test before is a batch event too
    expect(JSON.parse(all.out)).toMatchObject({ dry_run: true, matched: 6, already_handled: 6, replayed: 0 });

    const count = async (...filter: string[]) => {
      const r = await cli(["replay", "--handler", "batch", ...filter, "--dry-run", "--json"]);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(r.out).matched as number;
    };
    expect(await count("--type", "batch.failed")).toBe(1);
    expect(await count("--resource", "batch:batch_bulk_2")).toBe(1);
    expect(await count("--status", "dead")).toBe(0);
    expect(await count("--until", "2000-01-01T00:00:00Z")).toBe(0);
    expect(await count("--since", new Date(Date.now() + 60_000).toISOString())).toBe(0);

    const text = await cli(["replay", "--handler", "batch", "--type", "batch.failed", "--dry-run"]);
    expect(text.out).toBe(
      "dry run: 1 event(s) match for batch; 1 already handled by batch's inbox (skipped unless --force); nothing replayed\n",
    );
    // the CLI lists the names it takes; the admin API refuses the name on its own too
    const noHandler = await cli(["replay", "--handler", "nobody", "--dry-run"]);
    expect(noHandler).toMatchObject({ code: 2 });
    expect(noHandler.err).toContain('--handler "nobody" is not one of: fine-tuning, batch, response');
    const noHandlerApi = await admin.app.inject({
      method: "POST",
      url: "/admin/replay",
      headers: auth,
      payload: { handler: "nobody", dryRun: true },
    });
    expect(noHandlerApi.statusCode).toBe(400);
    expect(noHandlerApi.json().message).toMatch(/no handler named "nobody"/);
    const badSince = await admin.app.inject({
      method: "POST",
      url: "/admin/replay",
      headers: auth,
      payload: { handler: "batch", since: "yesterday" },
    });
    expect(badSince.statusCode).toBe(400);
    const usage = await cli(["replay", "evt_bulk_1", "--type", "batch.completed"]);
    expect(usage.code).toBe(2);
  });

  it("republishes every match to the handler's replay durable with progress and a summary; re-running does no work twice unless --force", async () => {
    const before = await replayCount("batch");
    const run = await cli([
      "replay",
      "--handler",
      "batch",
      "--type",
      "batch.completed",
      "--since",
      "1h",
      "--rate",
      "40",
    ]);
    expect(run.code, run.err).toBe(0);
    const lines = run.out.trim().split("\n");
    expect(lines[0]).toMatch(/^replayed 0\/5 at 0\/s$/);
    expect(lines.at(-1)).toMatch(
      /^replayed 5 of 5 event\(s\) to batch in \d+\.\d s; 5 already handled by batch's inbox \(the inbox skips those\)$/,
    );
    expect(await replayCount("batch")).toBe(before + 5);

    // the handler takes each replay and finds it handled: no second notification
    await eventually(
      async () => {
        const info = await jsm.consumers.info(topology.streams.replays, "batch-replay");
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      { message: "the replay durable drained" },
    );
    for (const id of ids.slice(0, 4)) expect(notified(id)).toBe(1);

    // the NDJSON the CLI reads: progress lines, then the result
    const raw = await admin.app.inject({
      method: "POST",
      url: "/admin/replay",
      headers: auth,
      payload: { handler: "batch", resource: "batch:batch_bulk_1", force: true, rate: 100 },
    });
    expect(raw.statusCode).toBe(200);
    expect(raw.headers["content-type"]).toBe("application/x-ndjson");
    const objects = raw.body
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(objects[0]).toMatchObject({ phase: "replay", matched: 1, replayed: 0 });
    expect(objects.at(-1)).toMatchObject({ result: { matched: 1, replayed: 1, missing: 0, force: true } });
    await eventually(() => notified("evt_bulk_1") === 2, { message: "the forced replay notified again" });
    expect(notified("evt_bulk_2")).toBe(1);
  });
});

describe("issue 21, item 13: one bulk replay per handler at a time, across instances", () => {
  const adminEnv = { ...infra.env, REPLAY_LOCK_TTL_MS: "3000" };
  let second: Admin | undefined;
  afterAll(async () => {
    for (const step of second?.steps ?? []) await step.close();
  });
  const bulk = (app: Admin["app"], payload: Record<string, unknown>) =>
    app.inject({ method: "POST", url: "/admin/replay", headers: auth, payload });

  it("answers 409 replay_running on either instance while one runs for that handler, and takes the next once it stopped", async () => {
    second = await startAdmin(parseConfig(AdminConfigSchema, adminEnv), logger);
    const ids = ["evt_lock_1", "evt_lock_2", "evt_lock_3"];
    for (const id of ids) {
      await publishEvent(js, topology, eventBody("batch.completed", { id, data: { id: `batch_${id}` } }));
    }
    await eventually(
      async () => {
        for (const id of ids) if ((await statusOf(id)) !== "processed") return false;
        return true;
      },
      { message: "the events to replay processed" },
    );
    // a slow run on the first instance: every batch event at one a second
    const run = http.request(`${env.HOOKSTREAM_ADMIN_URL}/admin/replay`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
    });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      run.on("response", resolve).on("error", reject);
      run.end(JSON.stringify({ handler: "batch", rate: 1 }));
    });
    expect(res.statusCode).toBe(200);
    // its first progress line: it holds the handler's lock and runs
    const first = String(await new Promise<Buffer>((resolve) => res.once("data", resolve)));
    expect(JSON.parse(first.split("\n")[0] ?? "")).toMatchObject({ phase: "replay", replayed: 0 });

    for (const app of [second.app, admin.app]) {
      const busy = await bulk(app, { handler: "batch", rate: 1 });
      expect(busy.statusCode, busy.body).toBe(409);
      expect(busy.json()).toMatchObject({ error: "replay_running" });
      expect(busy.json().message).toMatch(/batch/);
    }
    // another handler is not held up, and a dry run only counts
    expect((await bulk(second.app, { handler: "response" })).statusCode).toBe(200);
    expect((await bulk(second.app, { handler: "batch", dryRun: true })).statusCode).toBe(200);

    // the client goes away: the run stops and lets go of the lock
    run.destroy();
    await eventually(
      async () =>
        (await bulk(second?.app as Admin["app"], { handler: "batch", resource: "batch:none" })).statusCode ===
        200,
      { message: "the lock released once the first run stopped" },
    );
  });

  it("lets a lock whose instance died expire, and names it until then", async () => {
    const kv = await new Kvm(js).open(topology.buckets.replayLocks);
    // what an instance killed mid-run leaves: a lock nobody renews
    await kv.create(
      "batch",
      JSON.stringify({ instance: "admin-killed-1", actor: "ops", started_at: new Date().toISOString() }),
    );
    const busy = await bulk(admin.app, { handler: "batch", resource: "batch:none" });
    expect(busy.statusCode).toBe(409);
    expect(busy.json().message).toMatch(/admin-killed-1/);
    await eventually(
      async () => (await bulk(admin.app, { handler: "batch", resource: "batch:none" })).statusCode === 200,
      { message: "the dead instance's lock expired", intervalMs: 250 },
    );
  });

  it(`refuses a rate above the ceiling of ${MAX_REPLAY_RATE}/s with 400 invalid_rate`, async () => {
    for (const rate of [MAX_REPLAY_RATE + 1, 10_000]) {
      const res = await bulk(admin.app, { handler: "batch", rate, dryRun: true });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ error: "invalid_rate" });
    }
    const r = await cli(["replay", "--handler", "batch", "--rate", String(MAX_REPLAY_RATE + 1), "--dry-run"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`1 to ${MAX_REPLAY_RATE}`);
  });
});
