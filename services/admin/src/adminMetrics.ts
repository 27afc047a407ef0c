import { Counter, type Registry } from "@hookstream/observability";

/** The admin service's own Prometheus metrics, on the app's registry. */
export function createAdminMetrics(registry: Registry) {
  return {
    replays: new Counter({
      name: "hookstream_admin_replays_total",
      help: "messages republished to the replay stream by the admin API",
      labelNames: ["source"] as const,
      registers: [registry],
    }),
  };
}

export type AdminMetrics = ReturnType<typeof createAdminMetrics>;
