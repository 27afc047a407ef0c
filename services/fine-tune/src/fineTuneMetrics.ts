import { Counter, type Registry } from "@hookstream/observability";
import type { ProjectionMetrics } from "./projectionConsumer";

/**
 * The projection's counters (hookstream_projection_*). Its consumer lag is
 * `hookstream_consumer_pending{durable="fine-tune"}` from registerConsumerGauges,
 * which replaces the former `hookstream_projection_consumer_lag`.
 */
export function createFineTuneMetrics(registry: Registry): ProjectionMetrics {
  const metrics = {
    applied: new Counter({
      name: "hookstream_projection_applied_total",
      help: "job snapshots folded into fine_tune_jobs",
      registers: [registry],
    }),
    stale: new Counter({
      name: "hookstream_projection_stale_total",
      help: "folded job states that changed nothing (older or duplicate)",
      registers: [registry],
    }),
    invalid: new Counter({
      name: "hookstream_projection_invalid_total",
      help: "messages that were not job snapshots",
      registers: [registry],
    }),
  };
  return metrics;
}
