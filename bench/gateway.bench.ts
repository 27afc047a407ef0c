/**
 * Gateway requests/s and latency under a loopback load, beside a no-op fastify route
 * (the HTTP ceiling) measured in the same run; then the JetStream publish rate of the
 * gateway's publish path (one awaited publish per request, many requests in flight)
 * beside a raw publish loop with 256 in flight.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  deleteStreams,
  eventBody,
  freePort,
  signWebhook,
  TEST_SECRET,
  testTopology,
  waitForPort,
} from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import autocannon from "autocannon";
import type { BenchSection } from "./types";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const DURATION_SEC = Number(process.env.BENCH_DURATION_SEC ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 64);
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

function startServer(script: string, env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, ["--conditions=source", "--import", "tsx", join(root, "bench", "servers", script)], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ["ignore", "ignore", "inherit"],
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

interface Load {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
}

/**
 * Requests are signed before the run: signing in the load generator's loop would
 * make the generator (one core) the bottleneck and hide the ceiling.
 */
function signedPool(size: number): Array<{ body: string; headers: Record<string, string> }> {
  return Array.from({ length: size }, () =>
    signWebhook(TEST_SECRET, eventBody("batch.completed", { id: `evt_${randomUUID()}` })),
  );
}

async function load(port: number, pool: ReturnType<typeof signedPool>): Promise<Load> {
  let next = 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/webhooks/openai`,
    connections: CONNECTIONS,
    duration: DURATION_SEC,
    method: "POST",
    requests: [
      {
        setupRequest(req) {
          // a fresh event each request: the gateway must not answer from dedup
          const signed = pool[next++ % pool.length]!;
          return { ...req, method: "POST", body: signed.body, headers: signed.headers };
        },
      },
    ],
  });
  return {
    rps: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

async function rawPublish(
  servers: string,
  subject: string,
  inFlight: number,
  total: number,
): Promise<number> {
  const nc = await connect({ servers, noAsyncTraces: true });
  const js = jetstream(nc);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < total) {
        const i = next++;
        await js.publish(subject, eventBody("batch.completed", { id: `evt_raw_${i}` }), {
          msgID: `raw-${i}`,
        });
      }
    }),
  );
  const rate = total / ((performance.now() - started) / 1000);
  await nc.close();
  return Math.round(rate);
}

export default async function run(): Promise<BenchSection[]> {
  const noopPort = await freePort();
  const noop = startServer("noop.ts", { PORT: String(noopPort) });
  await waitForPort(noopPort);
  const pool = signedPool(Number(process.env.BENCH_POOL ?? 400_000));
  await load(noopPort, pool); // warm-up
  const ceiling = await load(noopPort, pool);
  await stop(noop);

  const topology = testTopology("benchgw");
  const gwPort = await freePort();
  const gateway = startServer("gateway.ts", {
    NATS_URL,
    GATEWAY_PORT: String(gwPort),
    HOOKSTREAM_NAMESPACE: topology.namespace,
    OPENAI_WEBHOOK_SECRET: TEST_SECRET,
    LOG_LEVEL: "warn",
  });
  await waitForPort(gwPort);
  await load(gwPort, signedPool(20_000)); // warm-up
  const gw = await load(gwPort, pool);
  await stop(gateway);

  const nc = await connect({ servers: NATS_URL });
  const jsm = await jetstreamManager(nc);
  const published = (await jsm.streams.info(topology.streams.webhooks)).state.messages;
  const raw = await rawPublish(NATS_URL, `${topology.subjects.openaiPrefix}.batch.completed`, 256, 100_000);
  await deleteStreams(jsm, topology);
  await nc.close();

  const command = `npm run bench -- gateway (autocannon, ${CONNECTIONS} connections, ${DURATION_SEC} s each)`;
  return [
    {
      title: "Gateway vs a no-op fastify route (loopback HTTP)",
      command,
      rows: [
        {
          server: "no-op fastify route (ceiling)",
          "req/s": ceiling.rps,
          "p50 ms": ceiling.p50,
          "p99 ms": ceiling.p99,
          "2xx": ceiling.ok,
          errors: ceiling.errors,
          ratio: "1.00",
        },
        {
          server: "gateway (verify + zod + JetStream publish, ack awaited)",
          "req/s": gw.rps,
          "p50 ms": gw.p50,
          "p99 ms": gw.p99,
          "2xx": gw.ok,
          errors: gw.errors,
          ratio: (gw.rps / ceiling.rps).toFixed(2),
        },
      ],
      notes: [
        "Each request is a new event (unique id) signed with HMAC-SHA256; the gateway answers 200 only after JetStream's ack.",
        `Messages found in the stream after the run: ${published} (every 2xx is stored: ${published >= gw.ok ? "yes" : "NO"}).`,
      ],
    },
    {
      title: "JetStream publish: the gateway's path vs a raw publish loop",
      command,
      rows: [
        { path: "raw publish loop, 256 in flight, noAsyncTraces", "msg/s": raw, ratio: "1.00" },
        {
          path: "gateway (one awaited publish per HTTP request)",
          "msg/s": gw.rps,
          ratio: (gw.rps / raw).toFixed(2),
        },
      ],
    },
  ];
}
