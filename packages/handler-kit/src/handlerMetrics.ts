import { Counter, Gauge, Histogram, LATENCY_BUCKETS, type Registry } from "@hookstream/observability";

export function handlerMetrics(registry: Registry, lag: () => Promise<number>) {
  return {
    processed: new Counter({
      name: "hookstream_handler_processed_total",
      help: "events handled",
      registers: [registry],
    }),
    retried: new Counter({
      name: "hookstream_handler_retried_total",
      help: "attempts nak'd for a retry",
      registers: [registry],
    }),
    dead: new Counter({
      name: "hookstream_handler_dead_total",
      help: "events dead-lettered",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    skipped: new Counter({
      name: "hookstream_handler_skipped_total",
      help: "deliveries of events already handled (inbox)",
      registers: [registry],
    }),
    seconds: new Histogram({
      name: "hookstream_handler_seconds",
      help: "time to handle one event",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    lag: new Gauge({
      name: "hookstream_handler_consumer_lag",
      help: "messages not yet delivered to the durable consumer",
      registers: [registry],
      async collect() {
        this.set(await lag().catch(() => -1));
      },
    }),
  };
}
export type HandlerMetrics = ReturnType<typeof handlerMetrics>;
