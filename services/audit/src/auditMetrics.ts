import { Counter, Gauge, Histogram, LATENCY_BUCKETS, type Registry } from "@hookstream/observability";

export interface ConsumerLag {
  durables: string[];
  /** messages in the stream the durable has not been delivered yet, or null when unknown */
  pending(durable: string): Promise<number | null>;
}

/** The audit's Prometheus metrics, on the app's own registry. */
export function createAuditMetrics(registry: Registry, lag?: ConsumerLag) {
  const metrics = {
    rowsInserted: new Counter({
      name: "audit_rows_inserted_total",
      help: "webhook_events rows inserted (or placeholders completed)",
      registers: [registry],
    }),
    duplicates: new Counter({
      name: "audit_duplicates_total",
      help: "events already in webhook_events (redeliveries, re-publishes)",
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "audit_batch_size",
      help: "messages per insert batch",
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000],
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: "audit_insert_duration_seconds",
      help: "time of one batched insert",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    batchFailures: new Counter({
      name: "audit_batch_failures_total",
      help: "batches that failed and were nak'd (Postgres unreachable)",
      labelNames: ["consumer"],
      registers: [registry],
    }),
    outcomesApplied: new Counter({
      name: "audit_outcomes_total",
      help: "outcomes folded into webhook_events, by whether they changed the row",
      labelNames: ["status", "result"],
      registers: [registry],
    }),
    outcomesInvalid: new Counter({
      name: "audit_outcomes_invalid_total",
      help: "messages on the outcomes stream that are not an Outcome (acked and skipped)",
      registers: [registry],
    }),
    replays: new Counter({
      name: "audit_replays_total",
      help: "messages republished to the replay stream by the admin API",
      labelNames: ["source"],
      registers: [registry],
    }),
  };
  if (lag) {
    new Gauge({
      name: "audit_consumer_lag",
      help: "messages not yet delivered to the durable consumer (num_pending)",
      labelNames: ["durable"],
      registers: [registry],
      async collect() {
        for (const durable of lag.durables) {
          const n = await lag.pending(durable).catch(() => null);
          if (n !== null) this.set({ durable }, n);
        }
      },
    });
  }
  return metrics;
}

export type AuditMetrics = ReturnType<typeof createAuditMetrics>;
