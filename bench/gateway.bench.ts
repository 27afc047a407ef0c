/**
 * The gateway against its ceiling, measured in the same run, every server pinned to
 * one core and the load generator to the other:
 * - a no-op fastify route (the HTTP ceiling: what fastify alone answers);
 * - the minimal correct gateway of bench/servers/reference.ts (verify, parse, publish
 *   through the gateway's ackedPublisher and await the ack; no per-request log line,
 *   metrics or tracing): the ceiling the gateway's ratio is taken against.
 * The gateway and the reference run the same way: both compiled (esbuild bundles,
 * every package from its dist/), `node <file>.js` with the same flags (none) and
 * environment, at LOG_LEVEL=info, production's level. Two variants of the gateway
 * show what its tracing and its info lines cost: OTEL_SDK_DISABLED=true, LOG_LEVEL=warn.
 * Saturation: Debian's wrk (one thread, 64 connections) with pre-signed unique
 * requests (bench/lib/signed.lua); the servers take turns, BENCH_RUNS times, in an
 * order reversed every other run, each on an emptied stream with the disk settled.
 * ratio = median of the gateway's runs / median of the reference's runs.
 * Fixed rate: an open-loop sender at 1,000 req/s, gateway and reference alternating.
 */
import { deleteStreams, freePort, TEST_SECRET, testTopology, waitForPort } from "@hookstream/testing";
import { jetstreamManager, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { measureProjects } from "./lib/gatewayProjects";
import { type LoadResult, openLoop, saturate, signRequests } from "./lib/load";
import {
  cpuMs,
  type Proc,
  ROOT,
  SERVER_CPU,
  settle,
  startCompiled,
  startService,
  waitReady,
} from "./lib/proc";
import { fmt, median, RUNS, type Run, round, spreadPct, summarize } from "./lib/stats";
import type { BenchSection, GroupResult } from "./types";

const DURATION_SEC = Number(process.env.BENCH_DURATION_SEC || 6);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS || 64);
const FIXED_RATE = Number(process.env.BENCH_FIXED_RATE || 1_000);
const FIXED_SEC = Number(process.env.BENCH_FIXED_SEC || 8);
const NATS_URL = process.env.NATS_URL || "nats://127.0.0.1:4222";
// enough unique requests for the fastest of them (~15k req/s) not to repeat an id
const POOL = DURATION_SEC * 16_000;

interface Server {
  name: string;
  proc: Proc;
  url: string;
  /** the stream it publishes to, emptied before each of its measurements */
  stream?: string;
}

/** Starts a server; `readyPath` null: ready once its port accepts connections. */
async function start(
  name: string,
  launch: (port: number) => Proc,
  readyPath: string | null,
): Promise<Server> {
  const port = await freePort();
  const proc = launch(port);
  if (readyPath === null) await waitForPort(port, 60_000);
  else await waitReady(`http://127.0.0.1:${port}${readyPath}`, proc);
  return { name, proc, url: `http://127.0.0.1:${port}/webhooks/openai` };
}

export default async function run(): Promise<GroupResult> {
  const gwTopology = testTopology("benchgw");
  const refTopology = testTopology("benchref");
  const nc = await connect({ servers: NATS_URL.split(",") });
  const jsm = await jetstreamManager(nc);
  const servers: Server[] = [];
  const names = ["noop", "reference", "gateway", "gatewayNoTracing", "gatewayWarn"];
  const sat: Record<string, LoadResult[]> = Object.fromEntries(names.map((n) => [n, []]));
  // CPU time of the server process per request it answered, by server and run
  const cpu: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  const fixed: Record<string, Awaited<ReturnType<typeof openLoop>>[]> = { reference: [], gateway: [] };
  let projects: BenchSection | undefined;
  try {
    // the reference publishes into a stream of the contract's settings in its own namespace
    await jsm.streams.add({
      name: refTopology.streams.webhooks,
      subjects: [`${refTopology.namespace}.webhooks.>`],
      storage: StorageType.File,
      duplicate_window: 2 * 3600 * 1e9,
    });
    const noop = await start(
      "noop",
      (port) => startCompiled(`${ROOT}/bench/servers/noop.ts`, { PORT: String(port) }, SERVER_CPU),
      null,
    );
    servers.push(noop);
    const reference = await start(
      "reference",
      (port) =>
        startCompiled(
          `${ROOT}/bench/servers/reference.ts`,
          {
            PORT: String(port),
            NATS_URL,
            HOOKSTREAM_NAMESPACE: refTopology.namespace,
            OPENAI_WEBHOOK_SECRET: TEST_SECRET,
          },
          SERVER_CPU,
        ),
      null,
    );
    reference.stream = refTopology.streams.webhooks;
    servers.push(reference);
    // the gateway as production runs it, in its namespace; `extra` picks a variant
    const startGateway = async (name: string, extra: Record<string, string> = {}) => {
      const s = await start(
        name,
        (port) =>
          startService(
            "gateway",
            {
              NATS_URL,
              GATEWAY_PORT: String(port),
              GATEWAY_HOST: "127.0.0.1",
              HOOKSTREAM_NAMESPACE: gwTopology.namespace,
              OPENAI_WEBHOOK_SECRET: TEST_SECRET,
              LOG_LEVEL: "info",
              ...extra,
            },
            SERVER_CPU,
          ),
        "/readyz",
      );
      s.stream = gwTopology.streams.webhooks;
      servers.push(s);
      return s;
    };
    const gateway = await startGateway("gateway");
    // what tracing costs per request: OpenTelemetry off (no span, no trace ids)
    await startGateway("gatewayNoTracing", { OTEL_SDK_DISABLED: "true" });
    // what its line per accepted event costs: the level above info
    await startGateway("gatewayWarn", { LOG_LEVEL: "warn" });

    // Each measurement starts on an empty stream: the gateways share one stream and would
    // otherwise publish into twice the messages (and duplicate-window ids) the reference does
    const emptied = async (s: Server) => {
      if (s.stream) await jsm.streams.purge(s.stream);
      return s;
    };
    // warm-up: JIT, connections, the stream's first blocks
    for (const s of servers)
      await saturate(s.url, signRequests(20_000, `w${s.name}`), { durationSec: 2, connections: CONNECTIONS });
    for (let i = 0; i < RUNS; i++) {
      // the order alternates run by run, so that no server always follows the same one
      for (const s of i % 2 === 0 ? servers : [...servers].reverse()) {
        const reqs = signRequests(POOL, `${s.name}${i}`);
        await emptied(s);
        settle();
        const before = cpuMs(s.proc.child.pid);
        const r = await saturate(s.url, reqs, { durationSec: DURATION_SEC, connections: CONNECTIONS });
        sat[s.name]?.push(r);
        cpu[s.name]?.push(round(((cpuMs(s.proc.child.pid) - before) * 1000) / Math.max(1, r.requests)));
        console.error(
          `bench: gateway run ${i + 1}/${RUNS} ${s.name}: ${r.rps} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms (${r.tool})`,
        );
      }
      for (const s of i % 2 === 0 ? [reference, gateway] : [gateway, reference]) {
        await emptied(s);
        settle();
        const r = await openLoop(s.url, signRequests(FIXED_RATE * FIXED_SEC, `f${s.name}${i}`), FIXED_RATE);
        fixed[s.name]?.push(r);
        console.error(
          `bench: fixed ${FIXED_RATE} req/s ${s.name}: p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.failed} failed`,
        );
      }
    }
    // several OpenAI projects: a gateway of its own beside the idle ones (lib/gatewayProjects.ts)
    projects = await measureProjects({
      natsUrl: NATS_URL,
      namespace: gwTopology.namespace,
      stream: gwTopology.streams.webhooks,
      jsm,
      durationSec: DURATION_SEC,
      connections: CONNECTIONS,
    });
  } finally {
    for (const s of servers) await s.proc.stop();
    await deleteStreams(jsm, gwTopology);
    await deleteStreams(jsm, refTopology);
    await nc.close();
  }

  const pair = (a: LoadResult[], b: LoadResult[]): Run[] =>
    a.map((r, i) => ({
      value: r.rps,
      ceiling: b[i]?.rps ?? null,
      ratio: b[i] ? round(r.rps / b[i].rps, 3) : null,
      p50: r.p50,
      p99: r.p99,
    }));
  /** median of the runs over median of the ceilings (not a median of per-run ratios), with both spreads */
  const against = (key: string, ceilingKey: string, extra: Record<string, unknown> = {}) => {
    const runs = pair(sat[key] ?? [], sat[ceilingKey] ?? []);
    const values = runs.map((r) => r.value);
    const ceilings = (sat[ceilingKey] ?? []).map((r) => r.rps);
    return summarize("req/s", runs, {
      ratio: round(median(values) / median(ceilings), 3),
      ceiling_spread_pct: spreadPct(ceilings),
      run_ratios: runs.map((r) => r.ratio),
      ...extra,
    });
  };
  const ref = against("reference", "noop");
  const noopM = summarize(
    "req/s",
    (sat.noop ?? []).map((r) => ({ value: r.rps, ceiling: null, ratio: null, p50: r.p50, p99: r.p99 })),
  );
  const noTracing = against("gatewayNoTracing", "reference");
  const warn = against("gatewayWarn", "reference");
  const gwRuns = pair(sat.gateway ?? [], sat.reference ?? []);
  const gw = against("gateway", "reference", {
    ceiling_p50: ref.p50,
    ceiling_p99: ref.p99,
    noop_req_s: noopM.value,
    p99_vs_reference: round((summarize("req/s", gwRuns).p99 ?? Number.NaN) / (ref.p99 ?? Number.NaN), 2),
    tool: sat.gateway?.[0]?.tool,
    log_level: "info",
    cpu_us_per_req: median(cpu.gateway ?? []),
    ceiling_cpu_us_per_req: median(cpu.reference ?? []),
    cpu_ratio: round(median(cpu.gateway ?? []) / median(cpu.reference ?? []), 3),
    no_tracing_req_s: noTracing.value,
    no_tracing_ratio: noTracing.ratio,
    no_tracing_cpu_us_per_req: median(cpu.gatewayNoTracing ?? []),
    log_warn_req_s: warn.value,
    log_warn_ratio: warn.ratio,
    log_warn_cpu_us_per_req: median(cpu.gatewayWarn ?? []),
  });
  const fixedRuns = (fixed.gateway ?? []).map((r, i) => {
    const c = fixed.reference?.[i];
    return {
      value: round(r.p99, 2),
      ceiling: c ? round(c.p99, 2) : null,
      ratio: c ? round(r.p99 / c.p99, 2) : null,
      p50: round(r.p50, 2),
      p99: round(r.p99, 2),
    };
  });
  const fixedM = summarize("ms (p99)", fixedRuns, {
    rate_req_s: FIXED_RATE,
    failed: (fixed.gateway ?? []).reduce((a, r) => a + r.failed, 0),
    notes: [
      "value and ceiling are p99 latencies (gateway, reference) at the fixed rate; ratio = gateway p99 / reference p99",
    ],
  });
  const tool = sat.gateway?.[0]?.tool ?? "wrk";
  const errors = Object.entries(sat)
    .map(([k, rs]) => `${k}: ${rs.reduce((a, r) => a + r.non2xx + r.errors, 0)} non-2xx or socket errors`)
    .join("; ");
  const row = (
    key: string,
    name: string,
    rs: LoadResult[],
    m: ReturnType<typeof summarize>,
    ratio: string,
  ) => ({
    server: name,
    "req/s median (spread)": fmt(m),
    "runs req/s": rs.map((r) => r.rps).join(", "),
    "CPU µs/req": median(cpu[key] ?? []),
    "p50 ms": m.p50 ?? "",
    "p99 ms": m.p99 ?? "",
    ratio,
  });
  return {
    results: { gateway: gw, gateway_fixed_rate: fixedM },
    sections: [
      {
        title: "Gateway vs the minimal reference gateway and a no-op route (saturation)",
        command: `npm run bench -- gateway (${tool}, 1 thread, ${CONNECTIONS} connections, ${DURATION_SEC} s × ${RUNS} runs each, servers on core ${SERVER_CPU ?? "any"})`,
        rows: [
          row("noop", "no-op fastify route (HTTP ceiling)", sat.noop ?? [], noopM, ""),
          row(
            "reference",
            "reference: verify + parse + publish through ackedPublisher, awaited (ceiling)",
            sat.reference ?? [],
            ref,
            `${ref.ratio ?? ""} of no-op`,
          ),
          row(
            "gateway",
            "gateway (services/gateway, LOG_LEVEL=info)",
            sat.gateway ?? [],
            gw,
            `${gw.ratio ?? ""} of reference`,
          ),
          row(
            "gatewayNoTracing",
            "gateway with OTEL_SDK_DISABLED=true (no trace ids)",
            sat.gatewayNoTracing ?? [],
            noTracing,
            `${noTracing.ratio ?? ""} of reference`,
          ),
          row(
            "gatewayWarn",
            "gateway at LOG_LEVEL=warn (no line per event)",
            sat.gatewayWarn ?? [],
            warn,
            `${warn.ratio ?? ""} of reference`,
          ),
        ],
        notes: [
          `ratio = median of a server's runs / median of its ceiling's runs (reference: ${fmt({ value: ref.value, spread_pct: ref.spread_pct })} req/s). The gateway is ${gw.ratio} of the reference (its runs: ${(gw.run_ratios as number[]).join(", ")}); CPU per request ${gw.cpu_us_per_req} µs against the reference's ${gw.ceiling_cpu_us_per_req} µs (${gw.cpu_ratio}×). Without trace ids it is ${noTracing.ratio} of the reference (${noTracing.no_tracing_cpu_us_per_req ?? median(cpu.gatewayNoTracing ?? [])} µs/req); without its info line per event ${warn.ratio} (${median(cpu.gatewayWarn ?? [])} µs/req).`,
          `Gateway p99 / reference p99 at saturation: ${gw.p99_vs_reference}. CPU µs/req: the server process's CPU time (user + system, /proc) during the run divided by the requests answered; the servers are CPU-bound on their core, so req/s follows it.`,
          `Each request is a distinct event signed beforehand (${POOL} per run per server); ${errors}.`,
          tool === "autocannon"
            ? "wrk could not be installed: autocannon ran instead, and it saturates its own core near 10k req/s, so the no-op figure is the generator's limit."
            : "wrk pinned to the other core; nats-server floats (it shares a core with one of them: at saturation the tail is partly the machine's).",
        ],
      },
      {
        title: `Gateway at a fixed ${FIXED_RATE} req/s (open loop)`,
        command: `npm run bench -- gateway (open-loop sender in Node, ${FIXED_SEC} s × ${RUNS} runs, keep-alive)`,
        rows: [
          ...["reference", "gateway"].map((name) => {
            const rs = fixed[name] ?? [];
            const m = summarize(
              "ms",
              rs.map((r) => ({ value: r.p99, ceiling: null, ratio: null, p50: r.p50, p99: r.p99 })),
            );
            return {
              server: name,
              "achieved req/s": rs.map((r) => r.achieved).join(", "),
              "p50 ms": m.p50 ?? "",
              "p99 ms median (spread)": fmt({ value: round(m.value, 2), spread_pct: m.spread_pct }, 2),
              "runs p99 ms": rs.map((r) => r.p99.toFixed(2)).join(", "),
              "max ms": rs.map((r) => r.max.toFixed(1)).join(", "),
              failed: rs.reduce((a, r) => a + r.failed, 0),
            };
          }),
        ],
        notes: [
          "Request i leaves at start + i/rate whatever the answers take; its latency counts from that scheduled moment (no coordinated omission). Sender pinned to the load core.",
        ],
      },
      ...(projects ? [projects] : []),
    ],
  };
}
