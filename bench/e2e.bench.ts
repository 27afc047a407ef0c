/**
 * End-to-end latency, HTTP 200 → audit row, at a fixed request rate: the gateway and
 * the audit as `npm start` runs them (their own processes), the time of each 200
 * taken by the sender and the row's `created_at` by Postgres, on the same clock.
 */
import http from "node:http";
import { parseConfig } from "@hookstream/config";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  freePort,
  ServiceProcess,
  signWebhook,
  TEST_SECRET,
  testTopology,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import pg from "pg";
import { z } from "zod";
import type { BenchSection } from "./types";

const Env = z.object({
  NATS_URL: z.string().default("nats://127.0.0.1:4222"),
  DATABASE_URL: z.string().default("postgres://postgres@127.0.0.1:5432/postgres"),
  BENCH_E2E_RATE: z.coerce.number().int().positive().default(500),
  BENCH_E2E_SECONDS: z.coerce.number().int().positive().default(10),
});

// keep-alive connections, a bounded number of them: an open loop must not open a socket per request
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", agent, headers: { ...headers, "content-length": Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

export default async function run(): Promise<BenchSection> {
  const env = parseConfig(Env);
  const topology = testTopology("benche2e");
  const db = await createTestDatabase(env.DATABASE_URL, "benche2e");
  const common = {
    NATS_URL: env.NATS_URL,
    DATABASE_URL: db.url,
    HOOKSTREAM_NAMESPACE: topology.namespace,
    OPENAI_WEBHOOK_SECRET: TEST_SECRET,
    LOG_LEVEL: "warn",
  };
  const gwPort = await freePort();
  const auditPort = await freePort();
  const gateway = new ServiceProcess({
    service: "gateway",
    port: gwPort,
    env: { ...common, GATEWAY_PORT: String(gwPort) },
  });
  const audit = new ServiceProcess({
    service: "audit",
    port: auditPort,
    env: { ...common, AUDIT_PORT: String(auditPort) },
  });
  try {
    await gateway.ready(60_000);
    await audit.ready(60_000);
    const url = `http://127.0.0.1:${gwPort}/webhooks/openai`;
    const sentAt = new Map<string, number>();
    const total = env.BENCH_E2E_RATE * env.BENCH_E2E_SECONDS;
    const intervalMs = 1000 / env.BENCH_E2E_RATE;
    const start = Date.now();
    const inFlight: Promise<void>[] = [];
    let failures = 0;
    for (let i = 0; i < total; i++) {
      // open loop: requests leave on schedule whatever the answers take
      const due = start + i * intervalMs;
      const wait = due - Date.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const body = eventBody("batch.completed", { id: `evt_e2e_${i}` });
      const signed = signWebhook(TEST_SECRET, body);
      inFlight.push(
        post(url, signed.headers, body).then(
          (status) => {
            if (status === 200) sentAt.set(`evt_e2e_${i}`, Date.now());
            else failures++;
          },
          () => {
            failures++;
          },
        ),
      );
    }
    await Promise.all(inFlight);
    const achieved = total / ((Date.now() - start) / 1000);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    let rows: Array<{ event_id: string; at: number }> = [];
    for (let tries = 0; tries < 600; tries++) {
      rows = (
        await client.query(
          "SELECT event_id, (EXTRACT(EPOCH FROM created_at) * 1000)::float8 AS at FROM webhook_events",
        )
      ).rows;
      if (rows.length >= sentAt.size) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await client.end();
    const latencies = rows
      .map((r) => r.at - (sentAt.get(r.event_id) ?? Number.NaN))
      .filter((x) => Number.isFinite(x))
      .sort((a, b) => a - b);
    return {
      title: "End-to-end latency: HTTP 200 → audit row, at a fixed rate",
      command: `npm run bench -- e2e (${env.BENCH_E2E_RATE} req/s for ${env.BENCH_E2E_SECONDS} s, open loop)`,
      rows: [
        {
          "target req/s": env.BENCH_E2E_RATE,
          "achieved req/s": Math.round(achieved),
          "200s": sentAt.size,
          "non-200": failures,
          "rows found": rows.length,
          "p50 ms": percentile(latencies, 50).toFixed(1),
          "p99 ms": percentile(latencies, 99).toFixed(1),
          "max ms": (latencies.at(-1) ?? Number.NaN).toFixed(1),
        },
      ],
      notes: [
        "Latency = the row's created_at (Postgres clock) minus the moment the sender saw the 200 (same machine): it can be slightly negative when the row commits before the HTTP answer reaches the sender.",
        "gateway, audit, nats-server, Postgres and the sender share the same 2 cores.",
      ],
    };
  } finally {
    gateway.kill("SIGKILL");
    audit.kill("SIGKILL");
    await Promise.all([gateway.exit, audit.exit]);
    const nc = await connect({ servers: env.NATS_URL.split(",") });
    await deleteStreams(await jetstreamManager(nc), topology);
    await nc.close();
    await db.drop();
  }
}
