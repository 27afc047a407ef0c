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
