import { collectDefaultMetrics, Registry } from "prom-client";

/** Every metric name starts with this (a contract: dashboards and alerts rely on it). */
export const METRIC_PREFIX = "hookstream_";

/**
 * prom-client's defaults that `promtool check metrics` rejects: gauges named like
 * counters ("non-counter metrics should not have _total suffix"). The same numbers
 * stay available without the suffix (`…_nodejs_active_handles` etc.).
 */
const LINT_FAILING_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/**
 * One registry per app instance (never the global one): tests build many apps in one
 * process. Every series carries `service`; the process and Node.js defaults are
 * prefixed like the project's own metrics.
 */
export function createRegistry(service: string, opts: { defaultMetrics?: boolean } = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (opts.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
    for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(`${METRIC_PREFIX}${name}`);
  }
  return registry;
}

/** Latency buckets in seconds, from sub-millisecond to the 10 s a webhook sender waits at most. */
export const LATENCY_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * Buckets for one unit of webhook work (inbox, OpenAI calls, notifications, deploy
 * hooks): 5 ms for a skip, up to the 60 s an outbound call may take under its timeouts.
 */
export const WORK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export { Counter, Gauge, Histogram, Registry } from "prom-client";
