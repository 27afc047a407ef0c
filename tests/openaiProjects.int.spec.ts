/**
 * Several OpenAI projects into one log (docs/openai-projects.md), on real NATS and
 * Postgres: two projects, each with its own webhook secrets and API key, and a fake
 * OpenAI API that, like OpenAI, scopes keys to projects (a job of one project is a 404
 * with another's key). The gateway finds the project by the secret that verifies (or
 * checks only the pinned project's), the audit and the projection keep it, search and
 * the CLI filter by it, and the fine-tuning handler enriches each event with its own
 * project's key.
 */

import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AdminConfigSchema, startAdmin } from "@hookstream/admin";
import { AuditConfigSchema, startAudit } from "@hookstream/audit";
import { runCli } from "@hookstream/cli";
import { parseConfig } from "@hookstream/config";
import {
  DlqHeader,
  EventDetail,
  EventPage,
  FineTuneJobPage,
  MessageHeader,
  type Outcome,
  type Topology,
} from "@hookstream/contracts";
import { FineTuneConfigSchema, startFineTune } from "@hookstream/fine-tune";
import { fineTuningHandler } from "@hookstream/fine-tuning-handler";
import { type Gateway, GatewayConfig, startGateway } from "@hookstream/gateway";
import { type HandlerConfig, handlerConfigSchema, startHandler } from "@hookstream/handler-kit";
import {
  deleteStreams,
  eventBody,
  eventually,
  FakeOpenAI,
  publishEvent,
  ServiceProcess,
  signWebhook,
  testInfra,
  testTopology,
} from "@hookstream/testing";
import type { JetStreamManager } from "@nats-io/jetstream";
import pg from "pg";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";

const logger = pino({ level: "silent" });
const infra = await testInfra("oaip", { natsUrl: inject("natsUrl"), databaseUrl: inject("databaseUrl") });
const { topology, db, natsUrl, jsm } = infra;
const ADMIN_TOKEN = "projects-admin-token";
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

const secret = (label: string) => `whsec_${Buffer.from(`${label}-${randomUUID()}`).toString("base64")}`;
const ALPHA = secret("alpha");
const BETA_OLD = secret("beta-old");
const BETA_NEW = secret("beta-new");
const GAMMA = secret("gamma");

// one fake API, like OpenAI's: the key decides the project, a project sees only its own jobs
const fake = await FakeOpenAI.start();
infra.defer(() => fake.close());
fake.project("alpha", "sk-alpha");
fake.project("beta", "sk-beta");
const dir = mkdtempSync(join(tmpdir(), "hs-oaip-"));
infra.defer(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env.H24_TEST_OPENAI_KEY_ALPHA;
});
writeFileSync(join(dir, "beta-key"), "sk-beta\n");
// alpha's key comes from the variable its entry names (the handler reads it at start)
process.env.H24_TEST_OPENAI_KEY_ALPHA = "sk-alpha";

/** alpha: key by variable and its own base URL; beta: key by file, rotating (two secrets); gamma: no key */
const PROJECTS = [
  { name: "alpha", secrets: [ALPHA], apiKeyEnv: "H24_TEST_OPENAI_KEY_ALPHA", baseUrl: fake.baseURL },
  { name: "beta", secrets: [BETA_OLD, BETA_NEW], apiKeyFile: join(dir, "beta-key") },
  { name: "gamma", secrets: [GAMMA] },
];
const common = { NATS_URL: natsUrl, HOOKSTREAM_NAMESPACE: topology.namespace, LOG_LEVEL: "silent" };

function gatewayWith(projects: unknown): Promise<Gateway> {
  return startGateway(
    parseConfig(GatewayConfig, { ...common, OPENAI_PROJECTS: JSON.stringify(projects) }),
    logger,
  );
}

function handlerConfig(t: Topology, env: Record<string, string>): HandlerConfig {
  return parseConfig(handlerConfigSchema("fine-tuning"), {
    ...common,
    HOOKSTREAM_NAMESPACE: t.namespace,
    DATABASE_URL: db.url,
    HANDLER_MAX_DELIVER: "2",
    HANDLER_BASE_DELAY_MS: "100",
    HANDLER_MAX_DELAY_MS: "200",
    ...env,
  }) as HandlerConfig;
}

const gateway = infra.track(await gatewayWith(PROJECTS));
await gateway.app.listen({ host: "127.0.0.1", port: 0 });
const gatewayUrl = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`;
infra.track(
  await startAudit(parseConfig(AuditConfigSchema, { ...common, DATABASE_URL: db.url, ADMIN_TOKEN }), logger),
);
const admin = infra.track(
  await startAdmin(parseConfig(AdminConfigSchema, { ...common, DATABASE_URL: db.url, ADMIN_TOKEN }), logger),
);
infra.track(
  await startHandler(
    fineTuningHandler,
    // OPENAI_BASE_URL is beta's (it names none of its own); alpha names its own
    handlerConfig(topology, { OPENAI_PROJECTS: JSON.stringify(PROJECTS), OPENAI_BASE_URL: fake.baseURL }),
    logger,
  ),
);
const fineTune = infra.track(
  await startFineTune(
    parseConfig(FineTuneConfigSchema, {
      ...common,
      DATABASE_URL: db.url,
      ADMIN_TOKEN,
      FINE_TUNE_BATCH_SIZE: "10",
    }),
    logger,
  ),
);
await fineTune.app.listen({ host: "127.0.0.1", port: 0 });
const fineTuneUrl = `http://127.0.0.1:${(fineTune.app.server.address() as AddressInfo).port}`;
const sql = new pg.Pool({ connectionString: db.url, max: 2 });
infra.defer(() => sql.end());

afterAll(() => infra.close());

function post(path: string, body: string, signingSecret: string) {
  return gateway.app.inject({
    method: "POST",
    url: path,
    payload: body,
    headers: signWebhook(signingSecret, body).headers,
  });
}

/** A fine-tuning event of a job, signed with a project's secret and posted; its id and the answer. */
async function sendJobEvent(
  path: string,
  signingSecret: string,
  jobId: string,
  type = "fine_tuning.job.succeeded",
) {
  const body = eventBody(type, { data: { id: jobId } });
  const res = await post(path, body, signingSecret);
  return { id: JSON.parse(body).id as string, res };
}

async function auditRow(eventId: string, status?: string) {
  return eventually(
    async () => {
      const { rows } = await sql.query(
        "SELECT project, provider, status FROM webhook_events WHERE event_id = $1",
        [eventId],
      );
      const row = rows[0] as { project: string | null; provider: string; status: string } | undefined;
      return row && (status === undefined || row.status === status) ? row : undefined;
    },
    { message: `the audit row of ${eventId}${status ? ` (${status})` : ""}` },
  );
}

async function streamMessages(jm: JetStreamManager, stream: string) {
  const info = await jm.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jm.streams.getMessage(stream, { seq }).catch(() => null);
    if (m) out.push(m);
  }
  return out;
}

async function outcomesOf(t: Topology, eventId: string): Promise<Outcome[]> {
  const msgs = await streamMessages(jsm, t.streams.outcomes);
  return msgs
    .map((m) => JSON.parse(new TextDecoder().decode(m.data)) as Outcome)
    .filter((o) => o.event_id === eventId);
}

async function finalOutcome(t: Topology, eventId: string, status: Outcome["status"]) {
  return eventually(async () => (await outcomesOf(t, eventId)).find((o) => o.status === status), {
    message: `a ${status} outcome of ${eventId}`,
  });
}

describe("the gateway with several projects", () => {
  it("finds the project whose secret verifies and sends it in the Openai-Project header", async () => {
    for (const [signingSecret, project] of [
      [ALPHA, "alpha"],
      [BETA_OLD, "beta"],
      [BETA_NEW, "beta"],
      [GAMMA, "gamma"],
    ] as const) {
      const body = eventBody("batch.completed", { data: { id: `batch_${project}` } });
      const res = await post("/webhooks/openai", body, signingSecret);
      expect(res.statusCode, res.body).toBe(200);
      const msg = await jsm.streams.getMessage(topology.streams.webhooks, { seq: res.json().seq });
      expect(msg?.header.get(MessageHeader.OpenaiProject)).toBe(project);
      expect(msg?.subject).toBe(`${topology.subjects.openaiPrefix}.batch.completed`);
    }
    const unknown = eventBody("batch.completed");
    expect((await post("/webhooks/openai", unknown, secret("nobody"))).statusCode).toBe(401);
  });

  it("a project-pinned URL verifies only that project's secrets: 401 to another project's signature", async () => {
    const body = eventBody("batch.completed", { data: { id: "batch_pinned" } });
    const refused = await post("/webhooks/openai/alpha", body, BETA_NEW);
    expect(refused.statusCode).toBe(401);
    expect(refused.json()).toMatchObject({ error: "no_matching_signature" });

    const accepted = await post("/webhooks/openai/alpha", body, ALPHA);
    expect(accepted.statusCode).toBe(200);
    const msg = await jsm.streams.getMessage(topology.streams.webhooks, { seq: accepted.json().seq });
    expect(msg?.header.get(MessageHeader.OpenaiProject)).toBe("alpha");

    const nowhere = await post("/webhooks/openai/delta", body, ALPHA);
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.json()).toMatchObject({ error: "unknown_project" });
  });

  it("rotating one project's secret leaves the other untouched", async () => {
    // beta's rotation completes: its old secret is dropped, alpha's list is not touched
    const rotated = await gatewayWith([PROJECTS[0], { ...PROJECTS[1], secrets: [BETA_NEW] }, PROJECTS[2]]);
    try {
      const send = (path: string, s: string) => {
        const body = eventBody("batch.completed");
        return rotated.app.inject({
          method: "POST",
          url: path,
          payload: body,
          headers: signWebhook(s, body).headers,
        });
      };
      expect((await send("/webhooks/openai", BETA_OLD)).statusCode).toBe(401);
      expect((await send("/webhooks/openai/beta", BETA_OLD)).statusCode).toBe(401);
      expect((await send("/webhooks/openai", BETA_NEW)).statusCode).toBe(200);
      expect((await send("/webhooks/openai/beta", BETA_NEW)).statusCode).toBe(200);
      expect((await send("/webhooks/openai", ALPHA)).statusCode).toBe(200);
      expect((await send("/webhooks/openai/alpha", ALPHA)).statusCode).toBe(200);
      // and the running gateway, still in the middle of beta's rotation, takes both
      expect((await post("/webhooks/openai/beta", eventBody("batch.completed"), BETA_OLD)).statusCode).toBe(
        200,
      );
    } finally {
      await rotated.service.stop();
    }
  });

  it("counts published events by project (a label bounded by the configured projects)", async () => {
    const metrics = await gateway.app.inject({ method: "GET", url: "/metrics" });
    expect(metrics.body).toMatch(
      /hookstream_gateway_published_total\{type="batch.completed",project="alpha"[^}]*\} \d+/,
    );
    expect(metrics.body).toMatch(
      /hookstream_gateway_published_total\{type="batch.completed",project="beta"[^}]*\} \d+/,
    );
  });
});

describe("enrichment with each project's key", () => {
  it("one webhook of each project enriches with its own key and is processed, its project on the audit row and the job", async () => {
    fake.fineTuningJob("ftjob-alpha-1", { status: "succeeded", fine_tuned_model: "ft:alpha" }, "alpha");
    fake.fineTuningJob("ftjob-beta-1", { status: "succeeded", fine_tuned_model: "ft:beta" }, "beta");
    const a = await sendJobEvent("/webhooks/openai", ALPHA, "ftjob-alpha-1");
    const b = await sendJobEvent("/webhooks/openai", BETA_NEW, "ftjob-beta-1");
    expect([a.res.statusCode, b.res.statusCode]).toEqual([200, 200]);

    expect(await auditRow(a.id, "processed")).toMatchObject({ project: "alpha", provider: "openai" });
    expect(await auditRow(b.id, "processed")).toMatchObject({ project: "beta", provider: "openai" });
    // each job fetched once, with its own project's key
    const keyOf = (path: string) =>
      fake.requests.filter((r) => r.path === path).map((r) => r.headers.authorization);
    expect(keyOf("/v1/fine_tuning/jobs/ftjob-alpha-1")).toEqual(["Bearer sk-alpha"]);
    expect(keyOf("/v1/fine_tuning/jobs/ftjob-beta-1")).toEqual(["Bearer sk-beta"]);
    expect((await finalOutcome(topology, a.id, "processed")).error).toBeNull();

    // the projection keeps the project, and the job API filters on it
    const jobs = await eventually(
      async () => {
        const res = await fineTune.app.inject({
          method: "GET",
          url: "/fine-tune-jobs?project=beta",
          headers: auth,
        });
        const page = FineTuneJobPage.parse(res.json());
        return page.data.length > 0 ? page : undefined;
      },
      { message: "beta's job in fine_tune_jobs" },
    );
    expect(jobs.data.map((j) => [j.id, j.project, j.fine_tuned_model])).toEqual([
      ["ftjob-beta-1", "beta", "ft:beta"],
    ]);
    // hookstream jobs --project reads the same API
    const alphaIds = await eventually(
      async () => {
        const cli = await runCli(["jobs", "--project", "alpha", "--json"], {
          HOOKSTREAM_FINE_TUNE_URL: fineTuneUrl,
          ADMIN_TOKEN,
        });
        if (cli.code !== 0) throw new Error(cli.err);
        const ids = FineTuneJobPage.parse(JSON.parse(cli.out)).data.map((j) => j.id);
        return ids.length > 0 ? ids : undefined;
      },
      { message: "alpha's job through hookstream jobs --project" },
    );
    expect(alphaIds).toEqual(["ftjob-alpha-1"]);
  });

  it("handles an event of a project without a key from the webhook alone, and says why in its outcome", async () => {
    const g = await sendJobEvent("/webhooks/openai/gamma", GAMMA, "ftjob-gamma-1");
    expect(g.res.statusCode).toBe(200);
    const outcome = await finalOutcome(topology, g.id, "processed");
    expect(outcome.error).toBe(
      "handled from the webhook alone: project gamma has no API key (its entry in OPENAI_PROJECTS names no apiKeyEnv or apiKeyFile)",
    );
    expect(fake.count("/v1/fine_tuning/jobs/ftjob-gamma-1")).toBe(0);
    expect(await auditRow(g.id, "processed")).toMatchObject({ project: "gamma" });
  });

  it("a 401 from the API says which project's key to check, in the outcome and the dead letter", async () => {
    fake.fineTuningJob("ftjob-alpha-401", {}, "alpha");
    fake.failNext(1, 401, "/v1/fine_tuning/jobs/ftjob-alpha-401");
    const a = await sendJobEvent("/webhooks/openai", ALPHA, "ftjob-alpha-401", "fine_tuning.job.failed");
    const dead = await finalOutcome(topology, a.id, "dead");
    expect(dead.error).toMatch(
      /OpenAI answered 401: .*; check project alpha's key \(H24_TEST_OPENAI_KEY_ALPHA\)$/,
    );
    const letters = await eventually(
      async () => {
        const all = await streamMessages(jsm, topology.streams.dlq);
        const mine = all.filter((m) => m.header.get(DlqHeader.EventId) === a.id);
        return mine.length > 0 ? mine : undefined;
      },
      { message: "the dead letter" },
    );
    expect(letters[0]?.header.get(DlqHeader.Error)).toMatch(
      /check project alpha's key \(H24_TEST_OPENAI_KEY_ALPHA\)/,
    );
    expect(letters[0]?.header.get(MessageHeader.OpenaiProject)).toBe("alpha");
  });

  it("with one key for every project, as before, the other project's event is dead-lettered (OpenAI's 404)", async () => {
    // the configuration of before: one OPENAI_API_KEY (alpha's), no projects, and events
    // without a project header (what the gateway published then): they are `default`'s
    const before = testTopology("oaipold");
    infra.defer(() => deleteStreams(jsm, before));
    const single = infra.track(
      await startHandler(
        fineTuningHandler,
        handlerConfig(before, { OPENAI_API_KEY: "sk-alpha", OPENAI_BASE_URL: fake.baseURL }),
        logger,
      ),
    );
    fake.fineTuningJob("ftjob-beta-2", { status: "succeeded" }, "beta");
    fake.fineTuningJob("ftjob-alpha-2", { status: "succeeded" }, "alpha");
    const beta = eventBody("fine_tuning.job.succeeded", { data: { id: "ftjob-beta-2" } });
    const alpha = eventBody("fine_tuning.job.succeeded", { data: { id: "ftjob-alpha-2" } });
    await publishEvent(single.service.ctx.js, before, beta);
    await publishEvent(single.service.ctx.js, before, alpha);
    expect((await finalOutcome(before, JSON.parse(beta).id, "dead")).error).toMatch(/OpenAI answered 404/);
    expect((await finalOutcome(before, JSON.parse(alpha).id, "processed")).error).toBeNull();
  });
});

describe("the project in search, the console's API and the CLI", () => {
  it("search and the event detail (what the console shows) filter by and show the project", async () => {
    const a = await sendJobEvent("/webhooks/openai", ALPHA, "ftjob-search-a", "fine_tuning.job.running");
    const b = await sendJobEvent("/webhooks/openai", BETA_NEW, "ftjob-search-b", "fine_tuning.job.running");
    await auditRow(a.id);
    await auditRow(b.id);
    const search = async (query: string) =>
      EventPage.parse(
        (
          await admin.app.inject({ method: "GET", url: `/admin/events/search?${query}`, headers: auth })
        ).json(),
      );
    const alpha = await search("project=alpha&limit=500");
    expect(alpha.events.map((e) => e.event_id)).toContain(a.id);
    expect(alpha.events.map((e) => e.event_id)).not.toContain(b.id);
    expect(new Set(alpha.events.map((e) => e.project))).toEqual(new Set(["alpha"]));
    expect((await search(`q=${b.id}`)).events[0]?.project).toBe("beta");

    const detail = await admin.app.inject({ method: "GET", url: `/admin/events/${b.id}`, headers: auth });
    expect(EventDetail.parse(detail.json())).toMatchObject({ project: "beta", provider: "openai" });
    expect(detail.json().headers[MessageHeader.OpenaiProject]).toBe("beta");

    const bad = await admin.app.inject({
      method: "GET",
      url: "/admin/events/search?project=Not%20One",
      headers: auth,
    });
    expect(bad.statusCode).toBe(400);
  });

  it("hookstream send --project signs with the project's secret to its pinned URL; events --project lists its events", async () => {
    const env = { GATEWAY_URL: `${gatewayUrl}/webhooks/openai`, OPENAI_PROJECTS: JSON.stringify(PROJECTS) };
    const sent = await runCli(
      ["send", "batch.completed", "--project", "beta", "--data", '{"id":"batch_cli"}'],
      env,
    );
    expect(sent.code, sent.out + sent.err).toBe(0);
    const id = /"event_id":"([^"]+)"/.exec(sent.out)?.[1] as string;
    expect(await auditRow(id)).toMatchObject({ project: "beta" });

    const unknown = await runCli(["send", "batch.completed", "--project", "delta"], env);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/no OpenAI project "delta".*alpha, beta, gamma/);

    const listed = await runCli(["events", "--project", "beta", "--limit", "500", "--json"], {
      DATABASE_URL: db.url,
    });
    expect(listed.code, listed.err).toBe(0);
    const rows = JSON.parse(listed.out) as Array<{ event_id: string; project: string }>;
    expect(rows.map((r) => r.event_id)).toContain(id);
    expect(new Set(rows.map((r) => r.project))).toEqual(new Set(["beta"]));
  });
});

describe("a bad OPENAI_PROJECTS", () => {
  const BAD = JSON.stringify([
    { name: "alpha", secrets: [ALPHA], apiKeyEnv: "K", apiKeyFile: "/k" },
    { name: "beta", secrets: [ALPHA] },
    { name: BETA_NEW, secrets: [] },
  ]);

  it("stops the gateway and a handler at start, each naming every problem and printing no secret", async () => {
    // both at once: each is a tsx process, slow to start on a loaded machine
    const started = (
      [
        ["gateway", "GATEWAY_PORT"],
        ["fine-tuning-handler", "FINE_TUNING_HANDLER_PORT"],
      ] as const
    ).map(
      ([service, portVar]) =>
        new ServiceProcess({
          service,
          port: 0,
          env: { ...common, LOG_LEVEL: "info", DATABASE_URL: db.url, [portVar]: "0", OPENAI_PROJECTS: BAD },
        }),
    );
    for (const proc of started) {
      const exit = await proc.exit;
      expect(exit.code, proc.opts.service).not.toBe(0);
      const output = proc.output.join("\n");
      expect(output).toMatch(
        /OPENAI_PROJECTS: \[0\] \\?"alpha\\?" apiKeyFile: give apiKeyEnv or apiKeyFile, not both/,
      );
      expect(output).toMatch(/OPENAI_PROJECTS: \[1\] \\?"beta\\?" secrets\[0\]: the same secret as/);
      expect(output).toMatch(/OPENAI_PROJECTS: \[2\] name: /);
      expect(output).toMatch(/OPENAI_PROJECTS: \[2\] secrets: at least one secret/);
      for (const s of [ALPHA, BETA_NEW, ALPHA.slice(6), BETA_NEW.slice(6)]) expect(output).not.toContain(s);
    }
  }, 180_000);
});
