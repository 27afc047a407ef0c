/**
 * The whole system for the console's browser tests, started the README's way (each
 * service's `src/main.ts` in its own process) on free ports, with a namespace and a
 * database of its own, the audit writer and two admin instances (the console's
 * service: the browser talks to the second, and each instance's live feed reads the
 * streams itself), and Debian's Chromium driven by playwright-core.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  FakeOpenAI,
  freePort,
  NotificationReceiver,
  ServiceProcess,
  signWebhook,
  TEST_SECRET,
  type TestDatabase,
  testTopology,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type BrowserContext, chromium } from "playwright-core";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CHROMIUM = "/usr/bin/chromium";
export const ADMIN_TOKEN = "console-test-token";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Builds the console's assets (vite build), as install/build time does. */
export function buildConsole(): void {
  execFileSync(
    process.execPath,
    [join(ROOT, "node_modules", "vite", "bin", "vite.js"), "build", "--logLevel", "warn"],
    {
      cwd: join(ROOT, "packages", "console"),
      stdio: "inherit",
    },
  );
}

export interface ConsoleSystem {
  /** the admin instance the browser uses */
  consoleUrl: string;
  /** the delivery service (its own admin routes; the console reaches them through the admin) */
  deliveryUrl: string;
  /** the other admin instance */
  otherAdminUrl: string;
  gatewayUrl: string;
  fake: FakeOpenAI;
  receiver: NotificationReceiver;
  browser: BrowserContext;
  /** POSTs a signed event to the gateway; returns the event id */
  send(type: string, opts: { id?: string; data?: Record<string, unknown> }): Promise<string>;
  stop(): Promise<void>;
}

export async function startConsoleSystem(opts: {
  natsUrl: string;
  databaseUrl: string;
  label: string;
  env?: Record<string, string>;
  /** DESTINATIONS of the delivery service, given the receiver's URL of a path (beside NOTIFY_URLS) */
  destinations?: (receiverUrl: (path: string) => string) => unknown[];
}): Promise<ConsoleSystem> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
  }
  buildConsole();
  const topology = testTopology(opts.label);
  const db: TestDatabase = await createTestDatabase(opts.databaseUrl, opts.label);
  const fake = await FakeOpenAI.start();
  const receiver = await NotificationReceiver.start();
  const port = {
    gateway: await freePort(),
    audit: await freePort(),
    admin: await freePort(),
    admin2: await freePort(),
    fineTuningHandler: await freePort(),
    batchHandler: await freePort(),
    responseHandler: await freePort(),
    fineTune: await freePort(),
    delivery: await freePort(),
  };
  const env: Record<string, string> = {
    NATS_URL: opts.natsUrl,
    DATABASE_URL: db.url,
    HOOKSTREAM_NAMESPACE: topology.namespace,
    OPENAI_WEBHOOK_SECRET: TEST_SECRET,
    OPENAI_API_KEY: "sk-test",
    OPENAI_BASE_URL: fake.baseURL,
    NOTIFY_URLS: receiver.url("/notify"),
    ...(opts.destinations
      ? { DESTINATIONS: JSON.stringify(opts.destinations((path) => receiver.url(path))) }
      : {}),
    ADMIN_TOKEN,
    FINE_TUNE_URL: `http://127.0.0.1:${port.fineTune}`,
    DELIVERY_URL: `http://127.0.0.1:${port.delivery}`,
    LOG_LEVEL: "warn",
    ...opts.env,
  };
  const services: ServiceProcess[] = [];
  const start = (service: string, p: number, extra: Record<string, string>) => {
    const s = new ServiceProcess({ service, port: p, env: { ...env, ...extra } });
    services.push(s);
    return s;
  };
  let browser: BrowserContext | undefined;
  const profile = mkdtempSync(join(tmpdir(), "hs-chromium-"));
  const stop = async () => {
    await browser?.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
    await Promise.all(services.map((s) => s.terminate().catch(() => undefined)));
    const nc = await connect({ servers: opts.natsUrl.split(",") });
    await deleteStreams(await jetstreamManager(nc), topology);
    await nc.close();
    await fake.close();
    await receiver.close();
    await db.drop();
  };
  try {
    // the gateway first: it provisions the streams the others bind to
    await start("gateway", port.gateway, { GATEWAY_PORT: String(port.gateway) }).ready(150_000);
    // the audit first: it migrates the tables the admin reads
    await start("audit", port.audit, { AUDIT_PORT: String(port.audit) }).ready(150_000);
    // the two admins migrate one at a time (initOrm holds an advisory lock per owner)
    const rest = [
      start("admin", port.admin, { ADMIN_PORT: String(port.admin) }),
      start("admin", port.admin2, { ADMIN_PORT: String(port.admin2) }),
      start("fine-tuning-handler", port.fineTuningHandler, {
        FINE_TUNING_HANDLER_PORT: String(port.fineTuningHandler),
      }),
      start("batch-handler", port.batchHandler, { BATCH_HANDLER_PORT: String(port.batchHandler) }),
      start("response-handler", port.responseHandler, {
        RESPONSE_HANDLER_PORT: String(port.responseHandler),
      }),
      start("fine-tune", port.fineTune, { FINE_TUNE_PORT: String(port.fineTune) }),
      start("delivery", port.delivery, { DELIVERY_PORT: String(port.delivery) }),
    ];
    await Promise.all(rest.map((s) => s.ready(150_000)));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 800 },
    });
  } catch (err) {
    await stop();
    throw err;
  }
  const gatewayUrl = `http://127.0.0.1:${port.gateway}/webhooks/openai`;
  return {
    consoleUrl: `http://127.0.0.1:${port.admin2}`,
    deliveryUrl: `http://127.0.0.1:${port.delivery}`,
    otherAdminUrl: `http://127.0.0.1:${port.admin}`,
    gatewayUrl,
    fake,
    receiver,
    browser,
    async send(type, o) {
      // the batch handler reads the batch from the (fake) OpenAI API first
      const resource = o.data?.id;
      if (type.startsWith("batch.") && typeof resource === "string") {
        fake.batch(resource, { status: type.slice("batch.".length) });
      }
      const body = eventBody(type, o);
      const signed = signWebhook(TEST_SECRET, body);
      const res = await fetch(gatewayUrl, { method: "POST", headers: signed.headers, body: signed.body });
      if (res.status !== 200) throw new Error(`gateway answered ${res.status}: ${await res.text()}`);
      return (JSON.parse(body) as { id: string }).id;
    },
    stop,
  };
}
