import {
  Counter,
  type DurableRef,
  Histogram,
  type Registry,
  registerConsumerGauges,
  WORK_BUCKETS,
} from "@hookstream/observability";
import type { JetStreamManager } from "@nats-io/jetstream";

/** why a message is dead-lettered: decideAck's term reasons and the max-deliveries advisory */
const DEAD_REASONS = ["permanent", "exhausted", "max_deliveries"] as const;

export interface HandlerMetricsOptions {
  /** the handler's name (`fine-tuning`, `batch`, …): the `handler` label of every series */
  handler: string;
  /** when given, hookstream_consumer_pending / _ack_pending for these durables */
  consumers?: { jsm: JetStreamManager; durables: DurableRef[] };
}

/**
 * A handler's outcomes and latency, labelled `handler`. The counters start at 0 so
 * that a ratio or an increase() has a series from the first scrape on.
 */
export function handlerMetrics(registry: Registry, opts: HandlerMetricsOptions) {
  const handler = { handler: opts.handler };
  const counter = (name: string, help: string) => {
    const c = new Counter({ name, help, labelNames: ["handler"] as const, registers: [registry] });
    const child = c.labels(handler);
    child.inc(0);
    return child;
  };
  const dead = new Counter({
    name: "hookstream_handler_dead_total",
    help: "events dead-lettered, by reason",
    labelNames: ["handler", "reason"] as const,
    registers: [registry],
  });
  const seconds = new Histogram({
    name: "hookstream_handler_duration_seconds",
    help: "time to handle one event, from the inbox claim to its completion",
    labelNames: ["handler"] as const,
    buckets: WORK_BUCKETS,
    registers: [registry],
  });
  for (const reason of DEAD_REASONS) dead.inc({ ...handler, reason }, 0);
  if (opts.consumers) registerConsumerGauges(registry, opts.consumers);
  return {
    processed: counter("hookstream_handler_processed_total", "events handled"),
    retried: counter("hookstream_handler_retried_total", "attempts nak'd for a retry"),
    skipped: counter("hookstream_handler_skipped_total", "deliveries of events already handled (inbox)"),
    dead: {
      inc: (labels: { reason: string }) => dead.inc({ ...handler, ...labels }),
    },
    seconds: seconds.labels(handler),
  };
}
export type HandlerMetrics = ReturnType<typeof handlerMetrics>;
