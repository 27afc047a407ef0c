import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CONSUMERS, type DurableName, makeTopology, SERVICE_NAMES, SERVICES } from "@hookstream/contracts";

const topology = makeTopology("");
const code = (s: string) => `\`${s}\``;
const seconds = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

/** The table of services in docs/architecture.md. */
export function servicesTable(): string {
  const rows = SERVICE_NAMES.map((s) => {
    const spec = SERVICES[s];
    const streams = spec.streams.map((k) => topology.streams[k]).join(", ");
    return `| ${code(s)} | ${spec.summary} | ${code(spec.portVar)} (${spec.defaultPort}) | ${spec.durables.map(code).join(", ") || "—"} | ${streams} | ${code(spec.nats.user)} | ${spec.database ? "yes" : "no"} | ${spec.ownsStreams ? "yes" : "no"} |`;
  });
  return [
    "| service | what it does | port | durables | streams | NATS user | database | owns streams |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** The table of durable consumers in docs/architecture.md. */
export function durablesTable(): string {
  const rows = (Object.keys(CONSUMERS) as DurableName[]).map((d) => {
    const spec = CONSUMERS[d];
    const filter = spec.filter(topology).replace("$JS.EVENT.ADVISORY.CONSUMER", "…");
    const r = spec.retry;
    const maxDeliver = r.maxDeliver < 0 ? "∞" : String(r.maxDeliver);
    return `| ${code(d)} | ${spec.kind} | ${topology.streams[spec.stream]} | ${code(filter)} | ${maxDeliver} | ${seconds(r.baseDelayMs)} → ${seconds(r.maxDelayMs)} | ${seconds(r.ackWaitMs)} | ${spec.maxAckPending} |`;
  });
  return [
    "| durable | kind | stream | filter | max deliver | nak delay | ack wait | max ack pending |",
    "|---|---|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

interface BenchFigure {
  value: number;
  unit: string;
  ceiling?: number | null;
  ratio?: number | null;
  p50?: number;
  p99?: number;
  measured_at?: string;
  /** what it was measured on (bench/lib/machine.ts, machineShort) */
  machine?: string;
}

/**
 * The benchmarks' figures in docs/guarantees.md, from bench/results.json, each with the day
 * and the machine it was measured on: written by `npm run bench` after each run, never by hand.
 */
export function benchFiguresTable(root: string): string {
  const path = join(root, "bench", "results.json");
  if (!existsSync(path)) return "No benchmark has run yet: `npm run bench` writes this table.";
  const results = JSON.parse(readFileSync(path, "utf8")) as Record<string, BenchFigure>;
  const rows = Object.entries(results).map(([key, m]) => {
    const latency = m.p99 !== undefined ? `p50 ${m.p50} ms, p99 ${m.p99} ms` : "";
    const day = m.measured_at?.slice(0, 10) ?? "";
    const on = m.machine ?? "machine not recorded";
    return `| ${key} | ${m.value} ${m.unit} | ${m.ceiling ?? ""} | ${m.ratio ?? ""} | ${latency} | ${day}, ${on} |`;
  });
  return [
    "| measurement | value | ceiling | ratio | latency | measured |",
    "|---|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}
