import { SERVICES, type ServiceSpec } from "@hookstream/contracts";

/**
 * The node flags of the services `npm start` runs on one machine: a 1 MiB young
 * generation, no V8 helper threads and two malloc arenas keep each idle service under
 * 90 MiB RSS (with Node's defaults one with a database idles at ~125 MiB; BENCHMARKS.md,
 * "Footprint"), at a cost in throughput and tail latency under load. The image
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
 * The node flags a service runs with in production: the catalog's `deploy.nodeFlags`
 * (packages/contracts/src/catalog.ts, with the reason), which the commands of
 * docker-compose.yml and deploy/k8s carry (generated) and the benchmarks start
 * services with. None for most.
 */
export function productionNodeFlags(service: string): string[] {
  const spec = (SERVICES as Record<string, ServiceSpec | undefined>)[service];
  return [...(spec?.deploy.nodeFlags?.flags ?? [])];
}

/** Fewer malloc arenas: less idle memory, no measurable cost (every configuration). */
export const SERVICE_ENV = { MALLOC_ARENA_MAX: "2" };
