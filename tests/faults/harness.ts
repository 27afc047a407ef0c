/**
 * What the fault suite shares: services run as real processes (as in production),
 * a bounded loopback load of signed webhooks that records every answer, the checks
 * "every 200 is in WEBHOOKS exactly once and has its audit row", and a teardown that
 * deletes exactly the streams and the database the test made, even when it failed.
 */

import { SERVICES, type ServiceName, type Topology } from "@hookstream/contracts";
import {
  createTestDatabase,
  deleteNamespaceStreams,
  eventBody,
  expectEachIdOnceInStream,
  freePort,
  ServiceProcess,
  signWebhook,
  TEST_SECRET,
  type TestDatabase,
  testTopology,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";

export interface Answer {
  id: string;
  status: number;
  retryAfter: string | null;
  /** the error code (ECONNREFUSED, ECONNRESET, UND_ERR_SOCKET…) or text when no HTTP answer came */
  error: string | null;
  at: number;
  /** the request as sent, to send it again as OpenAI does after a 503 */
  body: string;
  headers: Record<string, string>;
}

export interface System {
  topology: Topology;
  db: TestDatabase;
  env: Record<string, string>;
  /** start one more instance of a service */
  start(service: ServiceName, extraEnv?: Record<string, string>): Promise<ServiceProcess>;
  processes: ServiceProcess[];
  /** kills every process, deletes the namespace's streams and drops the database; throws if any step failed */
  stop(): Promise<void>;
}

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
        env: { ...env, [SERVICES[service].portVar]: String(port), ...extraEnv },
      });
      processes.push(p);
      await p.ready(60_000);
      return p;
    },
    async stop() {
      for (const p of processes) p.kill("SIGKILL");
      await Promise.all(processes.map((p) => p.exit));
      const errors: unknown[] = [];
      try {
        const nc = await connect({ servers: opts.natsUrl.split(","), timeout: 5_000 });
        try {
          await deleteNamespaceStreams(await jetstreamManager(nc), topology.namespace);
        } finally {
          await nc.close();
        }
      } catch (err) {
        errors.push(err);
      }
      await db.drop().catch((err) => errors.push(err));
      if (errors.length > 0) throw new AggregateError(errors, `teardown of ${topology.namespace} failed`);
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
        const { headers } = signWebhook(TEST_SECRET, body);
        const answer = await post(opts.url, body, headers);
        answers.push(answer);
        if (answer.error !== null) await new Promise((r) => setTimeout(r, 50));
      }
    }),
  );
  return answers;
}

/** One POST of a webhook; a network failure is an answer with status 0 and its error code. */
export async function post(url: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const id = JSON.parse(body).id as string;
  try {
    const res = await fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(10_000) });
    await res.arrayBuffer();
    const retryAfter = res.headers.get("retry-after");
    return { id, status: res.status, retryAfter, error: null, at: Date.now(), body, headers };
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const error = cause?.code ?? cause?.message ?? (err as Error).message;
    return { id, status: 0, retryAfter: null, error, at: Date.now(), body, headers };
  }
}

/**
 * The headers OpenAI sends when it retries an event: the same `webhook-id` and body,
 * a new timestamp and signature.
 */
export function resend(a: Answer): Record<string, string> {
  return signWebhook(TEST_SECRET, a.body, { webhookId: a.headers["webhook-id"] }).headers;
}

/**
 * Sends each event again as OpenAI does after a 503 or a failed connection: same id and
 * body, new signature, a few at a time, and again after a pause while it is refused.
 * Resolves with the last answer of each (a 200 unless the gateway kept refusing).
 */
export async function sendAgain(url: string, answers: Answer[], attempts = 20): Promise<Answer[]> {
  const out: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < answers.length) {
        const a = answers[next++]!;
        let last = a;
        for (let i = 0; i < attempts; i++) {
          last = await post(url, a.body, resend(a));
          if (last.status !== 503 && last.error === null) break;
          await new Promise((r) => setTimeout(r, 250));
        }
        out.push(last);
      }
    }),
  );
  return out;
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

/**
 * Resolves when every id is in the namespace's WEBHOOKS stream exactly once (by
 * `Nats-Msg-Id`; no other id twice either) and has its audit row; rejects with what is
 * missing or doubled. The stream is where a duplicate would show: the audit's unique
 * `event_id` hides any (a count of its rows cannot exceed one).
 */
export async function everyIdStoredOnce(
  sys: Pick<System, "topology" | "db" | "env">,
  ids: string[],
  timeoutMs = 60_000,
): Promise<void> {
  const nc = await connect({ servers: sys.env.NATS_URL!.split(",") });
  try {
    await expectEachIdOnceInStream(nc, sys.topology.streams.webhooks, ids);
  } finally {
    await nc.close();
  }
  await everyIdAudited(sys.db.url, ids, timeoutMs);
}

/** Resolves when every id has its audit row; rejects with what is missing after the timeout. */
export async function everyIdAudited(databaseUrl: string, ids: string[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counts = await auditCounts(databaseUrl, ids);
    const missing = [...counts].filter(([, n]) => n === 0).map(([id]) => id);
    if (missing.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`${missing.length} of ${ids.length} acknowledged events never reached the audit`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
