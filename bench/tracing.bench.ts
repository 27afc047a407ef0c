/**
 * The gateway's cost of tracing: the real gateway (`services/gateway/src/main.ts`)
 * under the same loopback load in three modes, one after the other:
 *   - OpenTelemetry disabled (`OTEL_SDK_DISABLED=true`: no provider, no ids);
 *   - the default, no exporter configured: spans are not recorded, but trace ids are
 *     made and carried (traceparent into NATS, trace_id into logs);
 *   - exporting every span over OTLP/HTTP to a local sink that accepts and drops them.
 *
 * Run alone: `node --conditions=source --import tsx bench/tracing.bench.ts`
 * (BENCH_DURATION_SEC, BENCH_CONNECTIONS). As a group of bench/run.ts, the default
 * export returns the section for BENCHMARKS.md.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  endRequestSpan,
  initTracing,
  injectTraceContext,
  startRequestSpan,
  withMessageSpan,
} from "@hookstream/observability";
import {
  deleteStreams,
  eventBody,
  freePort,
  signWebhook,
  TEST_SECRET,
  testTopology,
  waitForPort,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import autocannon from "autocannon";
import type { BenchSection } from "./types";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DURATION_SEC = Number(process.env.BENCH_DURATION_SEC ?? 8);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
/** modes are measured in turn, this many rounds; the median of each mode is reported */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux) */
const USER_HZ = 100;

interface Mode {
  name: string;
  env: Record<string, string>;
}

interface Figures {
  rps: number;
  /** the gateway process's CPU time per answered request: unlike req/s, barely moved by other load on the machine */
  cpuUsPerReq: number;
  p50: number;
  p99: number;
  ok: number;
  errors: number;
}

function hasTaskset(): boolean {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The gateway on core 0 when taskset exists; the load generator runs in this process. */
function startGateway(env: Record<string, string>): ChildProcess {
  const node = [process.execPath, "--conditions=source", "--import", "tsx", "services/gateway/src/main.ts"];
  const [cmd, ...args] = hasTaskset() ? ["taskset", "-c", "0", ...node] : node;
  return spawn(cmd ?? process.execPath, args, {
    cwd: ROOT,
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

/** Pre-signed unique events: signing in the generator's loop would make it the bottleneck. */
function signedPool(size: number) {
  return Array.from({ length: size }, () =>
    signWebhook(TEST_SECRET, eventBody("batch.completed", { id: `evt_${randomUUID()}` })),
  );
}

/** user + system CPU seconds of a process so far */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  // after "pid (comm) ": state is field 0, utime field 11, stime field 12
  return (Number(fields[11]) + Number(fields[12])) / USER_HZ;
}

async function load(
  port: number,
  pool: ReturnType<typeof signedPool>,
  seconds: number,
  pid?: number,
): Promise<Figures> {
  let next = 0;
  const cpuBefore = pid ? cpuSeconds(pid) : 0;
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/webhooks/openai`,
    connections: CONNECTIONS,
    duration: seconds,
    method: "POST",
    requests: [
      {
        setupRequest(req) {
          const signed = pool[next++ % pool.length];
          return { ...req, method: "POST", body: signed?.body, headers: signed?.headers };
        },
      },
    ],
  });
  const cpu = pid ? cpuSeconds(pid) - cpuBefore : 0;
  return {
    rps: Math.round(result.requests.average),
    cpuUsPerReq: result["2xx"] > 0 ? Math.round((cpu * 1e6) / result["2xx"]) : 0,
    p50: result.latency.p50,
    p99: result.latency.p99,
    ok: result["2xx"],
    errors: result.non2xx + result.errors + result.timeouts,
  };
}

/** An OTLP/HTTP endpoint that accepts every export and keeps only a count of bytes. */
async function otlpSink() {
  let bytes = 0;
  let posts = 0;
  const server = createServer((req, res) => {
    req.on("data", (c: Buffer) => {
      bytes += c.length;
    });
    req.on("end", () => {
      posts++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats: () => ({ bytes, posts }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const MICRO_ITERATIONS = Number(process.env.BENCH_MICRO_ITERATIONS ?? 200_000);

/**
 * In a child process (the tracer provider is global, once per process): the tracing
 * work of one webhook in a loop — the gateway's request span with traceparent into
 * NATS-like headers, then the consumer's span continuing it — in ns per webhook.
 * Yields every 100 iterations so that a batch exporter gets to export.
 */
async function microChild(): Promise<void> {
  initTracing({ serviceName: "bench" });
  const requestHeaders = { "content-type": "application/json", "webhook-id": "wh_1" };
  const attrs = { "http.request.method": "POST", "url.path": "/webhooks/openai" };
  const once = async () => {
    const m = new Map<string, string>();
    const carrier = { get: (k: string) => m.get(k) ?? "", set: (k: string, v: string) => void m.set(k, v) };
    const { span, ctx } = startRequestSpan("POST /webhooks/openai", requestHeaders, attrs);
    injectTraceContext(carrier, ctx);
    endRequestSpan(span, 200);
    await withMessageSpan("batch process", carrier, { "messaging.system": "nats" }, async () => undefined);
  };
  for (let i = 0; i < 20_000; i++) await once(); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < MICRO_ITERATIONS; i++) {
    await once();
    if (i % 100 === 0) await new Promise((r) => setImmediate(r));
  }
  const ns = Number(process.hrtime.bigint() - started) / MICRO_ITERATIONS;
  process.stdout.write(JSON.stringify({ ns }));
  process.exit(0);
}

/** Runs microChild in a child process; async, so that the OTLP sink in this process keeps answering. */
async function micro(env: Record<string, string>): Promise<number> {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", fileURLToPath(import.meta.url), "--micro"],
    {
      cwd: ROOT,
      env: { ...process.env, OTEL_SDK_DISABLED: "", OTEL_EXPORTER_OTLP_ENDPOINT: "", ...env },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  let out = "";
  child.stdout?.on("data", (c: Buffer) => {
    out += c.toString();
  });
  await new Promise((r) => child.once("exit", r));
  return (JSON.parse(out) as { ns: number }).ns;
}

/** One measured run of the gateway in one mode, on a namespace of its own. */
async function measure(mode: Mode, pool: ReturnType<typeof signedPool>): Promise<Figures> {
  const topology = testTopology("benchtr");
  const port = await freePort();
  const gateway = startGateway({
    NATS_URL,
    GATEWAY_PORT: String(port),
    GATEWAY_HOST: "127.0.0.1",
    HOOKSTREAM_NAMESPACE: topology.namespace,
    OPENAI_WEBHOOK_SECRET: TEST_SECRET,
    LOG_LEVEL: "warn",
    OTEL_SDK_DISABLED: "",
    OTEL_EXPORTER_OTLP_ENDPOINT: "",
    ...mode.env,
  });
  try {
    await waitForPort(port, 60_000);
    await load(port, signedPool(5_000), 2); // warm-up (JIT, connections)
    return await load(port, pool, DURATION_SEC, gateway.pid);
  } finally {
    await stop(gateway);
    const nc = await connect({ servers: NATS_URL });
    await deleteStreams(await jetstreamManager(nc), topology);
    await nc.close();
  }
}

export default async function run(): Promise<BenchSection[]> {
  const sink = await otlpSink();
  const modes: Mode[] = [
    { name: "OpenTelemetry disabled (OTEL_SDK_DISABLED=true)", env: { OTEL_SDK_DISABLED: "true" } },
    { name: "default: no exporter (ids carried, nothing recorded)", env: {} },
    { name: "OTLP export of every span (local sink)", env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } },
  ];
  const pool = signedPool(Number(process.env.BENCH_POOL ?? 200_000));
  const runs = new Map<string, Figures[]>(modes.map((m) => [m.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of modes) runs.get(mode.name)?.push(await measure(mode, pool));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const baseline = median(runs.get(modes[0]?.name ?? "")?.map((f) => f.cpuUsPerReq) ?? []);
  const rows = modes.map((mode) => {
    const fs = runs.get(mode.name) ?? [];
    const cpu = median(fs.map((f) => f.cpuUsPerReq));
    return {
      tracing: mode.name,
      "req/s": median(fs.map((f) => f.rps)),
      "p50 ms": median(fs.map((f) => f.p50)),
      "p99 ms": median(fs.map((f) => f.p99)),
      "gateway CPU µs/req": cpu,
      "CPU vs disabled": baseline ? (cpu / baseline).toFixed(2) : "-",
      errors: fs.reduce((n, f) => n + f.errors, 0),
    };
  });
  const microRuns = new Map<string, number[]>(modes.map((m) => [m.name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of modes) microRuns.get(mode.name)?.push(await micro(mode.env));
  }
  const microRows = modes.map((mode) => ({
    tracing: mode.name,
    "µs per webhook": (median(microRuns.get(mode.name) ?? []) / 1000).toFixed(2),
  }));
  const exported = sink.stats();
  await sink.close();
  return [
    {
      title: "Gateway with tracing disabled, default (no exporter) and exporting over OTLP",
      command: `node --conditions=source --import tsx bench/tracing.bench.ts (autocannon, ${CONNECTIONS} connections, ${DURATION_SEC} s per run)`,
      rows,
      notes: [
        `Same gateway, same load, same machine; the modes in turn, ${ROUNDS} rounds, medians. Each request is a new signed event, answered 200 after JetStream's ack.`,
        "CPU µs/req is the gateway process's user+system time over the measured run divided by its 2xx answers: the cost per request even when other work shares the machine.",
        `The OTLP sink received ${exported.posts} exports (${Math.round(exported.bytes / 1024)} KiB) in the export runs.`,
      ],
    },
    {
      title: "Tracing work of one webhook alone (request span, traceparent into headers, consumer span)",
      command: "node --conditions=source --import tsx bench/tracing.bench.ts",
      rows: microRows,
      notes: `${MICRO_ITERATIONS} webhooks in a loop in a child process per mode, ${ROUNDS} runs, median; no HTTP, no NATS.`,
    },
  ];
}

// run directly: print the tables
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes("--micro")) await microChild();
  for (const section of await run()) {
    console.log(section.title);
    console.table(section.rows);
    for (const n of [section.notes ?? []].flat()) console.log(n);
  }
  process.exit(0);
}
