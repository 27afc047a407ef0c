/**
 * Least privilege, proven by running it (issue 22, item 3): every flow of the system
 * under the shipped NATS roles. Its own nats-server runs deploy/nats/accounts.conf
 * (this machine's nats-server, passwords from the environment); the provisioning step
 * runs as `admin`; every service of the catalog runs as its own process with its
 * role's credentials in NATS_URL and its NATS_INBOX_PREFIX, in production's
 * STREAM_PROVISIONING=verify. Each flow goes through the services' HTTP APIs and is
 * checked in Postgres and NATS; then each role is shown refused outside its lane, with
 * the server's permissions error. The flows run and the refusals seen are printed.
 */
import http from "node:http";
import { runCli } from "@hookstream/cli";
import {
  type ErasureResult,
  eventBody,
  makeTopology,
  SERVICE_NAMES,
  SERVICES,
  type ServiceName,
  type SingleReplayResult,
} from "@hookstream/contracts";
import {
  createTestDatabase,
  eventually,
  FakeOpenAI,
  freePort,
  NotificationReceiver,
  ServiceProcess,
  signWebhook,
  TEST_SECRET,
  type TestDatabase,
} from "@hookstream/testing";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type AccountsServer, startAccountsServer } from "./accountsServer";

const TOKEN = "roles-test-admin-token-0123456789";
const auth = { authorization: `Bearer ${TOKEN}` };
/** accounts.conf names the contract streams: the namespace "" on a server of our own */
const topology = makeTopology("");

let nats: AccountsServer;
let db: TestDatabase;
let sql: pg.Pool;
let fake: FakeOpenAI;
let receiver: NotificationReceiver;
const running = new Map<ServiceName, ServiceProcess>();
const flows: string[] = [];
const refusals: string[] = [];

/** The environment of one service: its role's NATS login, its port, production's stream mode. */
async function envOf(service: ServiceName): Promise<Record<string, string>> {
  const port = await freePort();
  return {
    ...nats.envFor(SERVICES[service].nats.user),
    [SERVICES[service].portVar]: String(port),
    DATABASE_URL: db.url,
    HOOKSTREAM_NAMESPACE: "",
    STREAM_PROVISIONING: "verify",
    HTTP_HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    ADMIN_TOKEN: TOKEN,
    OPENAI_WEBHOOK_SECRET: TEST_SECRET,
    OPENAI_API_KEY: "sk-roles-test",
    OPENAI_BASE_URL: fake.baseURL,
    HANDLER_ACK_WAIT_MS: "3000",
    HANDLER_BASE_DELAY_MS: "100",
    HANDLER_MAX_DELAY_MS: "500",
    NOTIFY_URLS: receiver.url("/notify"),
    DEPLOY_HOOK_URL: receiver.url("/deploy"),
    DB_POOL_MAX: "3",
    // the response handler's events get one delivery: a handler that dies on it leaves
    // the message to the server's MAX_DELIVERIES advisory (the dead-letter flow below)
    ...(service === "response-handler" ? { HANDLER_MAX_DELIVER: "1" } : {}),
  };
}

async function start(service: ServiceName): Promise<ServiceProcess> {
  const env = await envOf(service);
  const p = new ServiceProcess({ service, port: Number(env[SERVICES[service].portVar]), env });
  running.set(service, p);
  // generous: eight services transpiled by tsx at once on a busy two-core machine
  await p.ready(240_000);
  return p;
}

const base = (service: ServiceName) => `http://127.0.0.1:${running.get(service)?.opts.port}`;

async function api(service: ServiceName, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base(service)}${path}`, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

async function send(type: string, id: string, data: Record<string, unknown>): Promise<void> {
  const body = eventBody(type, { id, data });
  const { headers } = signWebhook(TEST_SECRET, body);
  const res = await fetch(`${base("gateway")}/webhooks/openai`, { method: "POST", headers, body });
  expect(res.status, await res.text()).toBe(200);
}

const rows = async (query: string, params: unknown[] = []) => (await sql.query(query, params)).rows;
const statusOf = async (id: string) =>
  (await rows("SELECT status FROM webhook_events WHERE event_id = $1", [id]))[0]?.status as
    | string
    | undefined;
const notified = (id: string) =>
  receiver.on("/notify").filter((n) => (n.body as { event_id?: string }).event_id === id).length;

/**
 * Runs a refused action and returns the server's permissions error: the rejection of a
 * request, or the `-ERR` the server sent on the connection (a denied publish without a
 * reply, a pull request). `subject` is the JetStream API or message subject the server
 * must name (a RegExp where the client picks among API forms, e.g. by server version).
 */
async function refused(
  nc: NatsConnection,
  what: string,
  action: () => Promise<unknown>,
  subject: string | RegExp,
): Promise<void> {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === "error") errors.push(String(s.error.message));
  })();
  let rejection = "";
  await action().then(
    () => undefined,
    (err: unknown) => {
      rejection = String((err as Error).message);
    },
  );
  const wanted =
    typeof subject === "string" ? subject.replace(/[.$*+?^(){}|[\]\\]/g, "\\$&") : subject.source;
  const pattern = new RegExp(`Permissions Violation for Publish to "(${wanted})"`);
  const seen = await eventually(() => [rejection, ...errors].find((m) => pattern.test(m)), {
    timeoutMs: 5_000,
    message: `${what}: the server's ${pattern} (got: ${[rejection, ...errors].filter(Boolean).join(" | ") || "nothing"})`,
  });
  refusals.push(`${what}: ${seen}`);
}

beforeAll(async () => {
  nats = await startAccountsServer("roles");
  db = await createTestDatabase(inject("databaseUrl"), "roles");
  sql = new pg.Pool({ connectionString: db.url, max: 2 });
  fake = await FakeOpenAI.start();
  receiver = await NotificationReceiver.start();

  // the provisioning step, as the `admin` user: every stream and the KV bucket
  const provisioned = await runCli(["provision"], { NATS_URL: nats.url("admin"), HOOKSTREAM_NAMESPACE: "" });
  expect(provisioned.code, provisioned.err).toBe(0);
  for (const name of [...Object.values(topology.streams), `KV_${topology.buckets.deliveryState}`])
    expect(provisioned.out).toMatch(new RegExp(`^${name}\\s+created$`, "m"));
  flows.push("provisioning step as admin (hookstream provision): every stream and KV_DELIVERY_STATE created");

  // the audit first: its migrations make the tables the admin service and erasure read
  await start("audit");
  await Promise.all(SERVICE_NAMES.filter((s) => s !== "audit").map((s) => start(s)));
  flows.push(
    `every service started as its own role, STREAM_PROVISIONING=verify: ${SERVICE_NAMES.map((s) => `${s} (${SERVICES[s].nats.user})`).join(", ")}`,
  );
}, 420_000);

afterAll(async () => {
  for (const p of running.values()) p.kill("SIGKILL");
  await Promise.all([...running.values()].map((p) => p.exit));
  await nats?.stop();
  await sql?.end();
  await db?.drop();
  await fake?.close();
  await receiver?.close();
  console.log(
    [
      `roles test: ${flows.length} flows run under the shipped roles`,
      ...flows.map((f) => `  flow: ${f}`),
      `roles test: ${refusals.length} refusals seen`,
      ...refusals.map((r) => `  refused: ${r}`),
    ].join("\n"),
  );
});

describe("every flow under the shipped NATS roles", () => {
  it("ingests, handles, notifies and audits an event of each handler, and the console's live feed shows them", async () => {
    // the live feed first: its ordered readers of WEBHOOKS and WEBHOOK_OUTCOMES start with a listener
    let live = "";
    const liveReq = http.get(
      { host: "127.0.0.1", port: running.get("admin")?.opts.port, path: "/admin/events/live", headers: auth },
      (res) => {
        expect(res.statusCode).toBe(200);
        res.on("data", (d: Buffer) => {
          live += d.toString("utf8");
        });
      },
    );
    const adminNats = await jetstreamManager(await nats.connect("admin", { inboxPrefix: "_INBOX" }));
    const readers = async (stream: string) =>
      (await adminNats.consumers.list(stream).next()).filter((c) => !c.config.durable_name).length;
    await eventually(async () => (await readers("WEBHOOKS")) > 0 && (await readers("WEBHOOK_OUTCOMES")) > 0, {
      message: "the live feed's readers",
    });

    fake.fineTuningJob("ftjob-roles", { status: "succeeded", fine_tuned_model: "ft:gpt-4o-mini:roles" });
    fake.batch("batch_roles");
    fake.response("resp_roles");
    await send("fine_tuning.job.succeeded", "evt_roles_ft", { id: "ftjob-roles" });
    await send("batch.completed", "evt_roles_batch", { id: "batch_roles" });
    await send("response.completed", "evt_roles_resp", { id: "resp_roles" });
    const ids = ["evt_roles_ft", "evt_roles_batch", "evt_roles_resp"];
    await eventually(
      async () => {
        for (const id of ids) {
          if ((await statusOf(id)) !== "processed" || notified(id) === 0) return false;
          if ((await rows("SELECT 1 FROM webhook_attempts WHERE event_id = $1", [id])).length === 0)
            return false;
          if ((await rows("SELECT 1 FROM webhook_deliveries WHERE event_id = $1", [id])).length === 0)
            return false;
        }
        return true;
      },
      { timeoutMs: 30_000, message: "each event processed, notified, with its attempt and delivery record" },
    );
    flows.push(
      "ingest (gateway) → audit row → fine-tuning, batch and response handlers (OpenAI enrichment) → outcomes folded (processed) and attempts recorded",
    );
    flows.push(
      "notifications of all three handlers delivered (delivery service) and their delivery records audited",
    );
    await eventually(
      () => receiver.on("/deploy").some((n) => (n.body as { job_id?: string }).job_id === "ftjob-roles"),
      { message: "the deploy hook" },
    );
    flows.push("auto-deploy of the succeeded fine-tuning job (the deploy hook)");

    await eventually(() => ids.every((id) => live.includes(id)), {
      message: "the three events in the live feed",
    });
    liveReq.destroy();
    flows.push("console live feed (admin service): the three events pushed as they arrived");
  });

  it("projects the fine-tuning job and rebuilds the projection", async () => {
    await eventually(
      async () =>
        (await rows("SELECT status FROM fine_tune_jobs WHERE openai_job_id = 'ftjob-roles'"))[0]?.status,
      { message: "the projected job" },
    );
    const job = await api("fine-tune", "GET", "/fine-tune-jobs/ftjob-roles");
    expect(job.status, job.text).toBe(200);
    const rebuild = await api("fine-tune", "POST", "/admin/rebuild");
    expect(rebuild.status, rebuild.text).toBe(200);
    expect(JSON.parse(rebuild.text.trim().split("\n").at(-1) ?? "{}")).toHaveProperty("result");
    expect(await rows("SELECT openai_job_id FROM fine_tune_jobs")).toEqual([
      { openai_job_id: "ftjob-roles" },
    ]);
    flows.push("fine-tune projection of the job, its query API, and a rebuild from FINE_TUNING");
  });

  it("replays one event and bulk-replays a handler's events", async () => {
    const one = await api("admin", "POST", "/admin/replay/evt_roles_ft", { force: true });
    expect(one.status, one.text).toBe(200);
    expect(JSON.parse(one.text) as SingleReplayResult).toMatchObject({
      handler: "fine-tuning",
      force: true,
      verdict: "processed",
    });
    flows.push("replay of one event (forced), the handler's verdict awaited: processed");

    const bulk = await api("admin", "POST", "/admin/replay", { handler: "batch", since: "1h", force: true });
    expect(bulk.status, bulk.text).toBe(200);
    const summary = JSON.parse(bulk.text.trim().split("\n").at(-1) ?? "{}") as {
      result?: { replayed: number };
    };
    expect(summary.result?.replayed).toBe(1);
    await eventually(
      async () =>
        (
          await rows(
            "SELECT 1 FROM webhook_attempts WHERE event_id = 'evt_roles_batch' AND replay AND status = 'processed'",
          )
        ).length > 0,
      { message: "the bulk replay's outcome" },
    );
    flows.push("bulk replay of the batch handler's events (forced): replayed and processed again");
  });

  it("dead-letters through the max-deliveries advisory, then redrives the dead letter", async () => {
    fake.response("resp_dead");
    fake.setDelay(30_000);
    await send("response.completed", "evt_roles_dead", { id: "resp_dead" });
    await eventually(() => fake.count("/v1/responses/resp_dead") >= 1, { message: "the handler mid-work" });
    // it dies on its only delivery: only the server's advisory reports the message
    const first = running.get("response-handler") as ServiceProcess;
    first.kill("SIGKILL");
    await first.exit;
    fake.setDelay(0);
    await start("response-handler");
    const entry = await eventually(
      async () => {
        const dlq = await api("admin", "GET", "/admin/dlq?handler=response");
        const list = JSON.parse(dlq.text) as { messages: { seq: number; event_id: string; error: string }[] };
        return list.messages.find((m) => m.event_id === "evt_roles_dead");
      },
      { timeoutMs: 30_000, message: "the dead letter from the advisory" },
    );
    expect(entry.error).toContain("exhausted");
    await eventually(async () => (await statusOf("evt_roles_dead")) === "dead", { message: "status dead" });
    expect(notified("evt_roles_dead")).toBe(0);
    flows.push(
      "dead letter through the MAX_DELIVERIES advisory (response handler killed on its last delivery)",
    );

    const redrive = await api("admin", "POST", "/admin/dlq/redrive", { seqs: [entry.seq] });
    expect(redrive.status, redrive.text).toBe(200);
    expect(JSON.parse(redrive.text)).toMatchObject({ replayed: 1 });
    await eventually(() => notified("evt_roles_dead") === 1, { message: "the redriven event notified" });
    const after = JSON.parse((await api("admin", "GET", "/admin/dlq?handler=response")).text) as {
      count: number;
    };
    expect(after.count).toBe(0);
    flows.push(
      "DLQ redrive: the dead letter replayed to the response handler, processed, removed from the DLQ",
    );
  });

  it("erases by event and by resource, delivery records included", async () => {
    const byEvent = await api("admin", "POST", "/admin/erase", { eventId: "evt_roles_batch" });
    expect(byEvent.status, byEvent.text).toBe(200);
    const e = JSON.parse(byEvent.text) as ErasureResult;
    expect(e.counts.webhook_events).toBe(1);
    expect(e.counts.webhooks).toBe(1);
    expect(e.counts.webhook_deliveries).toBeGreaterThan(0);
    expect(e.counts.deliveries).toBeGreaterThan(0);
    expect(await rows("SELECT 1 FROM webhook_deliveries WHERE event_id = 'evt_roles_batch'")).toEqual([]);
    expect(await statusOf("evt_roles_batch")).toBeUndefined();
    flows.push(
      `erasure by event: ${e.counts.webhooks} WEBHOOKS, ${e.counts.outcomes} outcomes, ${e.counts.replays} replays, ${e.counts.deliveries} delivery records, ${e.counts.notifications} notifications removed`,
    );

    const byResource = await api("admin", "POST", "/admin/erase", {
      resourceType: "fine_tuning_job",
      resourceId: "ftjob-roles",
    });
    expect(byResource.status, byResource.text).toBe(200);
    const r = JSON.parse(byResource.text) as ErasureResult;
    expect(r.event_ids).toEqual(["evt_roles_ft"]);
    expect(r.counts).toMatchObject({ webhook_events: 1, webhooks: 1, fine_tune_jobs: 1 });
    expect(r.counts.fine_tuning).toBeGreaterThan(0);
    expect(r.counts.webhook_deliveries).toBeGreaterThan(0);
    expect(await rows("SELECT 1 FROM fine_tune_jobs")).toEqual([]);
    expect(await rows("SELECT 1 FROM webhook_deliveries WHERE event_id = 'evt_roles_ft'")).toEqual([]);
    flows.push(
      `erasure by resource (fine_tuning_job): ${r.counts.fine_tuning} FINE_TUNING snapshots, ${r.counts.webhook_deliveries} delivery rows, the projection row removed`,
    );
  });
});

describe("each role refused outside its lane, by the server", () => {
  it("refuses the gateway a consumer, a pull from another's durable and a stream update", async () => {
    const nc = await nats.connect("gateway");
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    await refused(
      nc,
      "gateway creates a consumer on WEBHOOKS",
      () => jsm.consumers.add("WEBHOOKS", { durable_name: "gw-reader", ack_policy: AckPolicy.Explicit }),
      // 2.9+ names the consumer in the subject; DURABLE.CREATE is the older form
      /\$JS\.API\.CONSUMER\.(DURABLE\.)?CREATE\.WEBHOOKS\.gw-reader/,
    );
    await refused(
      nc,
      "gateway pulls from the audit's durable",
      async () => (await jetstream(nc).consumers.get("WEBHOOKS", "audit")).next({ expires: 1_000 }),
      "$JS.API.CONSUMER.MSG.NEXT.WEBHOOKS.audit",
    );
    const info = await jsm.streams.info("WEBHOOKS");
    await refused(
      nc,
      "gateway updates the WEBHOOKS stream",
      () => jsm.streams.update("WEBHOOKS", { ...info.config, max_age: 0 }),
      "$JS.API.STREAM.UPDATE.WEBHOOKS",
    );
    expect((await jsm.streams.info("WEBHOOKS")).config.max_age).toBe(info.config.max_age);
  });

  it("refuses a handler another domain's outcomes and a message delete", async () => {
    const nc = await nats.connect("batch");
    await refused(
      nc,
      "batch handler publishes the response handler's outcome",
      () => jetstream(nc).publish("outcomes.response.processed", "{}", { timeout: 2_000 }),
      "outcomes.response.processed",
    );
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    const { first_seq: seq } = (await jsm.streams.info("WEBHOOKS")).state;
    await refused(
      nc,
      "batch handler deletes a WEBHOOKS message",
      () => jsm.streams.deleteMessage("WEBHOOKS", seq),
      "$JS.API.STREAM.MSG.DELETE.WEBHOOKS",
    );
    expect((await jsm.streams.getMessage("WEBHOOKS", { seq }))?.seq).toBe(seq);
  });

  it("refuses the audit writer a message delete and a stream delete", async () => {
    const nc = await nats.connect("audit");
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    const before = (await jsm.streams.info("WEBHOOKS")).state;
    await refused(
      nc,
      "audit writer deletes a WEBHOOKS message",
      () => jsm.streams.deleteMessage("WEBHOOKS", before.first_seq),
      "$JS.API.STREAM.MSG.DELETE.WEBHOOKS",
    );
    await refused(
      nc,
      "audit writer deletes the WEBHOOK_DLQ stream",
      () => jsm.streams.delete("WEBHOOK_DLQ"),
      "$JS.API.STREAM.DELETE.WEBHOOK_DLQ",
    );
    expect((await jsm.streams.info("WEBHOOKS")).state.messages).toBe(before.messages);
  });

  it("refuses the delivery service another service's durable and a stream of its own", async () => {
    const nc = await nats.connect("delivery");
    await refused(
      nc,
      "delivery pulls from the batch handler's durable",
      async () => (await jetstream(nc).consumers.get("WEBHOOKS", "batch")).next({ expires: 1_000 }),
      "$JS.API.CONSUMER.MSG.NEXT.WEBHOOKS.batch",
    );
    const jsm = await jetstreamManager(nc, { timeout: 2_000 });
    await refused(
      nc,
      "delivery creates a KV bucket's stream",
      () => jsm.streams.add({ name: "KV_OTHER", subjects: ["$KV.OTHER.>"] }),
      "$JS.API.STREAM.CREATE.KV_OTHER",
    );
  });
});
