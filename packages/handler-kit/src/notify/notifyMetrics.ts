import { DELIVERY_OUTCOMES, type DeliveryOutcome } from "@hookstream/contracts";
import { Counter, Gauge, type Registry } from "@hookstream/observability";

const DELIVERIES = "hookstream_notify_deliveries_total";
const BREAKER_OPEN = "hookstream_notify_breaker_open";

/**
 * `hookstream_notify_deliveries_total{handler,outcome}` and
 * `hookstream_notify_breaker_open{handler,destination}`: 1 from the moment a
 * destination's breaker opens until a delivery to it succeeds. `destination` is the
 * host (not the URL) to keep the label set small.
 */
export function notifyMetrics(registry: Registry, handler: string) {
  const deliveries =
    (registry.getSingleMetric(DELIVERIES) as Counter<"handler" | "outcome"> | undefined) ??
    new Counter({
      name: DELIVERIES,
      help: "outbound notification attempts, by outcome (delivered, failed, paused by the circuit breaker)",
      labelNames: ["handler", "outcome"] as const,
      registers: [registry],
    });
  const open =
    (registry.getSingleMetric(BREAKER_OPEN) as Gauge<"handler" | "destination"> | undefined) ??
    new Gauge({
      name: BREAKER_OPEN,
      help: "1 while the circuit breaker of a notification destination (host) is open",
      labelNames: ["handler", "destination"] as const,
      registers: [registry],
    });
  for (const outcome of DELIVERY_OUTCOMES) deliveries.inc({ handler, outcome }, 0);
  return {
    delivered: (outcome: DeliveryOutcome) => deliveries.inc({ handler, outcome }),
    breakerOpen: (destination: string, isOpen: boolean) => open.set({ handler, destination }, isOpen ? 1 : 0),
  };
}
export type NotifyMetrics = ReturnType<typeof notifyMetrics>;
