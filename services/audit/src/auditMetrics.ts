import {
  Counter,
  type DurableRef,
  Histogram,
  LATENCY_BUCKETS,
  type Registry,
  registerConsumerGauges,
  registerDlqGauge,
} from "@hookstream/observability";
import type { JetStreamManager } from "@nats-io/jetstream";

export interface AuditGauges {
  jsm: JetStreamManager;
  /**
   * the audit's durables, for hookstream_consumer_pending / _ack_pending (omit when the
   * service runtime registers them from the catalog)
   */
  durables?: DurableRef[];
  /** durables whose failure counter starts at 0 (when `durables` is omitted) */
  failureDurables?: DurableRef[];
  /** the DLQ stream and its subject prefix, for hookstream_dlq_messages{handler} */
  dlq?: { stream: string; subjectPrefix: string; handlers?: string[] };
}

/** The audit's Prometheus metrics, on the app's own registry. */
export function createAuditMetrics(registry: Registry, gauges?: AuditGauges) {
  const metrics = {
    rowsInserted: new Counter({
      name: "hookstream_audit_rows_inserted_total",
      help: "webhook_events rows inserted (or placeholders completed)",
      registers: [registry],
    }),
    duplicates: new Counter({
      name: "hookstream_audit_duplicates_total",
      help: "events already in webhook_events (redeliveries, re-publishes)",
      registers: [registry],
    }),
    batchSize: new Histogram({
      name: "hookstream_audit_batch_size",
      help: "messages per insert batch",
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2000],
      registers: [registry],
    }),
    insertSeconds: new Histogram({
      name: "hookstream_audit_insert_duration_seconds",
      help: "time of one batched insert",
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    batchFailures: new Counter({
      name: "hookstream_audit_batch_failures_total",
      help: "batches that failed and were nak'd (Postgres unreachable)",
      labelNames: ["durable"] as const,
      registers: [registry],
    }),
    outcomesApplied: new Counter({
      name: "hookstream_audit_outcomes_total",
      help: "outcomes folded into webhook_events, by whether they changed the row",
      labelNames: ["status", "result"] as const,
      registers: [registry],
    }),
    outcomesInvalid: new Counter({
      name: "hookstream_audit_outcomes_invalid_total",
      help: "messages on the outcomes stream that are not an Outcome (acked and skipped)",
      registers: [registry],
    }),
  };
  if (gauges) {
    // a failure counter that reads 0 is a series an alert can take rate() of
    for (const d of gauges.durables ?? gauges.failureDurables ?? []) {
      metrics.batchFailures.inc({ durable: d.durable }, 0);
    }
    if (gauges.durables) registerConsumerGauges(registry, { jsm: gauges.jsm, durables: gauges.durables });
    if (gauges.dlq) registerDlqGauge(registry, { jsm: gauges.jsm, ...gauges.dlq });
  }
  return metrics;
}

export type AuditMetrics = ReturnType<typeof createAuditMetrics>;
