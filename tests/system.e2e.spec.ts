/**
 * The whole system as `npm start` runs it (every service its own process), driven
 * through the CLI as a person would: send a signed webhook, see the audit row and the
 * counts, see the fine-tuning job the projection built from the fake OpenAI API,
 * rebuild the projection, then SIGTERM everything.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { runCli } from "@hookstream/cli";
import { SERVICES as CATALOG, SERVICE_NAMES } from "@hookstream/contracts";
import {
  createTestDatabase,
  deleteStreams,
  eventually,
  FakeOpenAI,
  freePort,
  NotificationReceiver,
  TEST_SECRET,
  testTopology,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, nanos } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

/** every service of the catalog, as `npm start` runs them */
const SERVICES = SERVICE_NAMES;
const topology = testTopology("sys");
const natsUrl = inject("natsUrl");
const db = await createTestDatabase(inject("databaseUrl"), "sys");
const fake = await FakeOpenAI.start();
const receiver = await NotificationReceiver.start();
const ports = Object.fromEntries(
  await Promise.all(SERVICES.map(async (s) => [s, await freePort()] as const)),
);
const portEnv = Object.fromEntries(SERVICES.map((s) => [CATALOG[s].portVar, String(ports[s])]));
const env: Record<string, string> = {
  NATS_URL: natsUrl,
  DATABASE_URL: db.url,
  HOOKSTREAM_NAMESPACE: topology.namespace,
  OPENAI_WEBHOOK_SECRET: TEST_SECRET,
  OPENAI_API_KEY: "sk-test",
  OPENAI_BASE_URL: fake.baseURL,
  NOTIFY_URLS: receiver.url("/notify"),
  DEPLOY_HOOK_URL: receiver.url("/deploy"),
  ADMIN_TOKEN: "e2e-admin-token-0123",
  LOG_LEVEL: "warn",
  // not the defaults: every service must keep them (issue 8, defect 1)
  WEBHOOK_MAX_AGE_MS: "7776000000",
  WEBHOOK_DUPLICATE_WINDOW_MS: "86400000",
  ...portEnv,
};
const cliEnv = {
  ...process.env,
  ...env,
  GATEWAY_URL: `http://127.0.0.1:${ports.gateway}/webhooks/openai`,
  HOOKSTREAM_ADMIN_URL: `http://127.0.0.1:${ports.admin}`,
  HOOKSTREAM_FINE_TUNE_URL: `http://127.0.0.1:${ports["fine-tune"]}`,
};

// the job API asks for the admin token (FINE_TUNE_API_PUBLIC is not set)
const auth = { authorization: `Bearer ${env.ADMIN_TOKEN}` };

let system: ChildProcess;
let systemExit: Promise<number | null>;
const systemOutput: string[] = [];

const cli = (...argv: string[]) => runCli(argv, cliEnv);

beforeAll(async () => {
  // the README's way: `npm start` builds (a cache hit after `npm test`'s build) and runs the compiled services
  system = spawn("npm", ["start", "--silent"], {
    cwd: new URL("..", import.meta.url).pathname,
    // compiled services resolve the workspaces to dist/, not to the sources the tests use
    env: { ...process.env, ...env, NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  system.stdout?.on("data", (d) => systemOutput.push(String(d)));
  system.stderr?.on("data", (d) => systemOutput.push(String(d)));
  systemExit = new Promise((resolve) => system.once("exit", (code) => resolve(code)));
  for (const s of SERVICES) {
    await eventually(async () => (await fetch(`http://127.0.0.1:${ports[s]}/readyz`)).ok, {
      timeoutMs: 60_000,
      intervalMs: 200,
      message: `${s} to be ready\n${systemOutput.join("").slice(-3000)}`,
    });
  }
}, 90_000);

afterAll(async () => {
  if (system.exitCode === null) system.kill("SIGKILL");
  const nc = await connect({ servers: natsUrl.split(",") });
  await deleteStreams(await jetstreamManager(nc), topology);
  await nc.close();
  await fake.close();
  await receiver.close();
  await db.drop();
});

/** pids of live processes whose environment holds this test's namespace */
function processesOfThisTest(): number[] {
  const mark = `HOOKSTREAM_NAMESPACE=${topology.namespace}`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(mark))
        pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

describe("npm start, then the CLI", () => {
  it("keeps the configured max age and duplicate window on WEBHOOKS once every service is ready", async () => {
    const nc = await connect({ servers: natsUrl.split(",") });
    const info = await (await jetstreamManager(nc)).streams.info(topology.streams.webhooks);
    await nc.close();
    expect(info.config.max_age).toBe(nanos(7_776_000_000));
    expect(info.config.duplicate_window).toBe(nanos(86_400_000));
  });

  it("sends fine_tuning.job.succeeded: the row appears, stats counts it, the job shows succeeded with its model", async () => {
    fake.fineTuningJob("ftjob-1", {
      status: "succeeded",
      fine_tuned_model: "ft:gpt-4o-mini:acme::e2e",
      trained_tokens: 4242,
    });
    const sent = await cli(
      "send",
      "fine_tuning.job.succeeded",
      "--data",
      '{"id":"ftjob-1"}',
      "--id",
      "evt_e2e_1",
    );
    expect(sent.code, sent.err).toBe(0);
    expect(sent.out).toContain("200");

    const events = await eventually(
      async () => {
        const r = await cli("events", "--type", "fine_tuning.job.succeeded", "--json");
        const rows = JSON.parse(r.out) as Array<{ event_id: string; status: string }>;
        return rows.find((e) => e.event_id === "evt_e2e_1" && e.status === "processed") ? rows : undefined;
      },
      { timeoutMs: 30_000, message: "the audit row to be processed" },
    );
    expect(events).toHaveLength(1);

    const stats = JSON.parse((await cli("stats", "--json")).out);
    expect(stats).toMatchObject({
      total: 1,
      by_status: { processed: 1 },
      by_type: { "fine_tuning.job.succeeded": 1 },
    });

    const job = await eventually(
      async () => {
        const res = await fetch(`${cliEnv.HOOKSTREAM_FINE_TUNE_URL}/fine-tune-jobs/ftjob-1`, {
          headers: auth,
        });
        return res.ok ? ((await res.json()) as Record<string, unknown>) : undefined;
      },
      { message: "the projection row" },
    );
    expect(job).toMatchObject({
      id: "ftjob-1",
      status: "succeeded",
      fine_tuned_model: "ft:gpt-4o-mini:acme::e2e",
      trained_tokens: 4242,
    });
    expect((await cli("job", "ftjob-1")).out).toContain("ft:gpt-4o-mini:acme::e2e");
    expect((await cli("jobs", "--status", "succeeded")).out).toContain("ftjob-1");
    expect(receiver.on("/deploy")).toHaveLength(1);
  });

  it("rebuilds the projection to the same rows and sends no notification", async () => {
    const before = await (
      await fetch(`${cliEnv.HOOKSTREAM_FINE_TUNE_URL}/fine-tune-jobs`, { headers: auth })
    ).json();
    const calls = receiver.received.length;
    const rebuilt = await cli("projections", "rebuild", "fine-tune");
    expect(rebuilt.code, rebuilt.err).toBe(0);
    expect(rebuilt.out).toContain("done");
    const after = await (
      await fetch(`${cliEnv.HOOKSTREAM_FINE_TUNE_URL}/fine-tune-jobs`, { headers: auth })
    ).json();
    expect(after).toEqual(before);
    expect(receiver.received.length).toBe(calls);
  });

  it("says clearly when the gateway does not answer", async () => {
    const r = await cli("send", "batch.completed", "--url", "http://127.0.0.1:9/webhooks/openai");
    expect(r.code).toBe(1);
    expect(r.err).toContain("cannot reach the gateway");
  });

  it("stops every service when npm alone gets SIGTERM, and leaves no process behind", async () => {
    expect(processesOfThisTest().length).toBeGreaterThanOrEqual(SERVICES.length);
    system.kill("SIGTERM");
    await systemExit;
    await eventually(() => processesOfThisTest().length === 0, {
      timeoutMs: 25_000,
      message: `every process of npm start to exit (left: ${processesOfThisTest().join(", ")})`,
    });
  });
});
