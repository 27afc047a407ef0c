/**
 * The node flags of the services `npm start` runs on one machine: a 1 MiB young
 * generation, no V8 helper threads and two malloc arenas keep each idle service under
 * 90 MiB RSS (with Node's defaults one with a database idles at ~125 MiB), at a cost
 * in throughput and tail latency under load (BENCHMARKS.md, "Footprint"). The image
 * and the Kubernetes config run with Node's defaults, tuned for load; the benchmarks
 * measure that configuration. `HOOKSTREAM_SERVICE_NODE_FLAGS` replaces these flags
 * (an empty value runs npm start like production).
 */
export const LOCAL_SERVICE_NODE_FLAGS = ["--max-semi-space-size=1", "--single-threaded"];

export function serviceNodeFlags(env: NodeJS.ProcessEnv = process.env): string[] {
  const override = env.HOOKSTREAM_SERVICE_NODE_FLAGS;
  if (override === undefined) return LOCAL_SERVICE_NODE_FLAGS;
  return override.split(/\s+/).filter((f) => f.length > 0);
}

/**
 * Node flags a service runs with in production: the commands of docker-compose.yml
 * and deploy/k8s carry them (tests/deploy checks), and the benchmarks start services
 * with them. The audit allocates per message and the batches it holds in flight
 * survive V8's small scavenges, to be copied again at the next one; 32 MiB
 * semi-spaces (16 by default) cut its CPU per message by about a tenth (BENCHMARKS.md,
 * "Audit drain"). The space grows only under load: an idle audit is unchanged.
 */
export const PRODUCTION_NODE_FLAGS: Readonly<Record<string, readonly string[]>> = {
  audit: ["--max-semi-space-size=32"],
};

/** The production flags of a service (none for most). */
export function productionNodeFlags(service: string): string[] {
  return [...(PRODUCTION_NODE_FLAGS[service] ?? [])];
}

/** Fewer malloc arenas: less idle memory, no measurable cost (every configuration). */
export const SERVICE_ENV = { MALLOC_ARENA_MAX: "2" };
