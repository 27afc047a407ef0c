/**
 * What the fault suite shares: services run as real processes (as in production),
 * a bounded loopback load of signed webhooks that records every answer, and the
 * checks "every 200 is one audit row".
 */

import type { Topology } from "@hookstream/contracts";
import {
  createTestDatabase,
  eventBody,
  freePort,
  ServiceProcess,
  signWebhook,
  TEST_SECRET,
  type TestDatabase,
  testTopology,
} from "@hookstream/testing";
import pg from "pg";

export interface Answer {
  id: string;
  status: number;
  retryAfter: string | null;
  /** network error text when no HTTP answer came */
  error: string | null;
  at: number;
}

export interface System {
  topology: Topology;
  db: TestDatabase;
  env: Record<string, string>;
  /** start one more instance of a service */
  start(service: string, extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  processes: ServiceProcess[];
  stop(): Promise<void>;
}

const PORT_VAR: Record<string, string> = {
  gateway: "GATEWAY_PORT",
  audit: "AUDIT_PORT",
  "fine-tuning-handler": "FINE_TUNING_HANDLER_PORT",
  "batch-handler": "BATCH_HANDLER_PORT",
  "response-handler": "RESPONSE_HANDLER_PORT",
  "fine-tune": "FINE_TUNE_PORT",
};

export async function system(
  label: string,
  opts: { natsUrl: string; databaseUrl: string; env?: Record<string, string> },
): Promise<System> {
  const topology = testTopology(label);
  const db = await createTestDatabase(opts.databaseUrl, label);
  const env: Record<string, string> = {
    NATS_URL: opts.natsUrl,
    DATABASE_URL: db.url,
    HOOKSTREAM_NAMESPACE: topology.namespace,
    OPENAI_WEBHOOK_SECRET: TEST_SECRET,
    LOG_LEVEL: "warn",
    PUBLISH_TIMEOUT_MS: "1500",
    AUDIT_MAX_NAK_DELAY_MS: "1000",
    AUDIT_ACK_WAIT_MS: "5000",
    HANDLER_ACK_WAIT_MS: "3000",
    HANDLER_BASE_DELAY_MS: "200",
    HANDLER_MAX_DELAY_MS: "2000",
    FINE_TUNE_ACK_WAIT_MS: "5000",
    SHUTDOWN_TIMEOUT_MS: "10000",
    ...opts.env,
  };
  const processes: ServiceProcess[] = [];
  return {
    topology,
    db,
    env,
    processes,
    async start(service, extraEnv = {}) {
      const port = await freePort();
      const p = new ServiceProcess({
        service,
        port,
        env: { ...env, [PORT_VAR[service]!]: String(port), ...extraEnv },
      });
      processes.push(p);
      await p.ready(60_000);
      return p;
    },
    async stop() {
      for (const p of processes) p.kill("SIGKILL");
      await Promise.all(processes.map((p) => p.exit));
      await db.drop();
    },
  };
}

/**
 * Sends signed webhooks with `concurrency` senders until `durationMs` has passed, each
 * a new event; records every answer. Bounded in time and count, loopback only.
 */
export async function load(opts: {
  url: string;
  durationMs: number;
  concurrency?: number;
  type?: string | ((i: number) => string);
  data?: (i: number) => Record<string, unknown>;
  maxRequests?: number;
}): Promise<Answer[]> {
  const answers: Answer[] = [];
  const end = Date.now() + opts.durationMs;
  const max = opts.maxRequests ?? 100_000;
  let n = 0;
  const typeOf = (i: number) =>
    typeof opts.type === "function" ? opts.type(i) : (opts.type ?? "batch.completed");
  await Promise.all(
    Array.from({ length: opts.concurrency ?? 8 }, async () => {
      while (Date.now() < end && n < max) {
        const i = n++;
        const body = eventBody(typeOf(i), { data: opts.data?.(i) });
        const id = JSON.parse(body).id as string;
        const signed = signWebhook(TEST_SECRET, body);
        try {
          const res = await fetch(opts.url, {
            method: "POST",
            headers: signed.headers,
            body,
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          answers.push({
            id,
            status: res.status,
            retryAfter: res.headers.get("retry-after"),
            error: null,
            at: Date.now(),
          });
        } catch (err) {
          answers.push({ id, status: 0, retryAfter: null, error: (err as Error).message, at: Date.now() });
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    }),
  );
  return answers;
}

export function gatewayUrl(p: ServiceProcess): string {
  return `http://127.0.0.1:${p.opts.port}/webhooks/openai`;
}

/** How many rows each of these event ids has in webhook_events (missing ids: 0). */
export async function auditCounts(databaseUrl: string, ids: string[]): Promise<Map<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ event_id: string; n: number }>(
      "SELECT event_id, count(*)::int AS n FROM webhook_events WHERE event_id = ANY($1) GROUP BY event_id",
      [ids],
    );
    const counts = new Map(ids.map((id) => [id, 0]));
    for (const r of rows) counts.set(r.event_id, r.n);
    return counts;
  } finally {
    await client.end();
  }
}

/** Resolves when every id has exactly one audit row; rejects with what is missing or doubled after the timeout. */
export async function everyIdAuditedOnce(
  databaseUrl: string,
  ids: string[],
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await auditCounts(databaseUrl, ids);
    const doubled = [...counts].filter(([, n]) => n > 1);
    if (doubled.length > 0) throw new Error(`audited more than once: ${doubled.slice(0, 5).join("; ")}`);
    const missing = [...counts].filter(([, n]) => n === 0).map(([id]) => id);
    if (missing.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${missing.length} of ${ids.length} acknowledged events never reached the audit`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
