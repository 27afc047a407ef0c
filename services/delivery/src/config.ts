import {
  ConfigError,
  intVar,
  jsonListVar,
  listVar,
  optionalStringVar,
  parseConfig,
} from "@hookstream/config";
import {
  type Destination,
  DestinationRetry,
  Destinations,
  type ResolvedDestination,
} from "@hookstream/contracts";
import { type ServiceConfig, serviceConfigSchema } from "@hookstream/runtime";
import { z } from "zod";

const WHSEC = z
  .string()
  .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, "must be whsec_ followed by base64 (a Standard Webhooks secret)")
  .optional();

/** The delivery service's own variables (docs/destinations.md). */
export const deliveryEnv = {
  /** a JSON list of destinations, or `@path/to/file.json` holding one */
  DESTINATIONS: jsonListVar(Destinations, {
    shape: "a list of { name, url, source?, filter?, secret?, headers?, ordering?, retry?, ratePerSec? }",
    empty: "empty list",
  }),
  /** shorthand: each URL a notifications destination with no filter (`notify-1`, `notify-2`, …) */
  NOTIFY_URLS: listVar([]).pipe(z.array(z.url({ protocol: /^https?$/, error: "an http(s) URL" }))),
  /** signs the NOTIFY_URLS destinations and the deploy hook (Standard Webhooks) */
  NOTIFY_SIGNING_SECRET: optionalStringVar().pipe(WHSEC),
  /** one attempt's deadline for NOTIFY_URLS and the deploy hook */
  NOTIFY_TIMEOUT_MS: intVar(5_000, { min: 100 }),
  /** the deploy hook: `{ job_id, fine_tuned_model }` when a fine-tuning job succeeds (destination `deploy`) */
  DEPLOY_HOOK_URL: optionalStringVar().pipe(
    z.url({ protocol: /^https?$/, error: "an http(s) URL" }).optional(),
  ),
  /** consecutive failed attempts that open a destination's breaker (shared by every instance) */
  DELIVERY_BREAKER_FAILURES: intVar(5, { min: 1 }),
  /** the first pause of an open breaker; each failed probe doubles it, up to the max */
  DELIVERY_BREAKER_PAUSE_MS: intVar(30_000, { min: 10 }),
  DELIVERY_BREAKER_MAX_PAUSE_MS: intVar(10 * 60_000, { min: 10 }),
  /** requests in flight to one destination from one instance */
  DELIVERY_CONCURRENCY: intVar(32, { min: 1, max: 1_000 }),
  /** messages of one unordered destination delivered and not yet settled, across every instance */
  DELIVERY_MAX_PENDING: intVar(256, { min: 1, max: 100_000 }),
  /** partitions of resources of an ordered destination: a failing event holds back 1/N of them */
  DELIVERY_PARTITIONS: intVar(16, { min: 1, max: 256 }),
};

export type DeliveryConfig = ServiceConfig<typeof deliveryEnv>;

/**
 * Every destination the service runs: DESTINATIONS, then one per NOTIFY_URLS entry
 * (`notify-1`, … : every handler's notifications, signed with NOTIFY_SIGNING_SECRET),
 * then the deploy hook (`deploy`). A name given twice is refused at start.
 */
export function resolveDestinations(config: DeliveryConfig): ResolvedDestination[] {
  const shorthand = (name: string, url: string, filter: Destination["filter"]): Destination => ({
    name,
    url,
    source: "notifications",
    filter,
    ...(config.NOTIFY_SIGNING_SECRET ? { secret: config.NOTIFY_SIGNING_SECRET } : {}),
    headers: {},
    ordering: "none",
    retry: DestinationRetry.parse({ timeoutMs: config.NOTIFY_TIMEOUT_MS }),
  });
  const all: ResolvedDestination[] = config.DESTINATIONS.map((d) => ({ ...d, body: "as-is" }));
  config.NOTIFY_URLS.forEach((url, i) => {
    all.push({ ...shorthand(`notify-${i + 1}`, url, {}), body: "as-is" });
  });
  if (config.DEPLOY_HOOK_URL) {
    all.push({
      ...shorthand("deploy", config.DEPLOY_HOOK_URL, {
        handlers: ["fine-tuning"],
        types: ["fine_tuning.job.succeeded"],
      }),
      body: "deploy",
    });
  }
  const seen = new Set<string>();
  const twice: ResolvedDestination[] = [];
  for (const d of all) {
    if (seen.has(d.name)) twice.push(d);
    seen.add(d.name);
  }
  if (twice.length > 0) {
    throw new ConfigError(
      twice.map(
        (d) =>
          `DESTINATIONS: "${d.name}" is also the name of a NOTIFY_URLS or DEPLOY_HOOK_URL destination (notify-<n>, deploy); rename it`,
      ),
    );
  }
  return all;
}

/** The delivery service's configuration from an environment (tests, benchmarks, main's schema). */
export function deliveryConfig(env: NodeJS.ProcessEnv): DeliveryConfig {
  return parseConfig(serviceConfigSchema("delivery", deliveryEnv), env) as DeliveryConfig;
}
