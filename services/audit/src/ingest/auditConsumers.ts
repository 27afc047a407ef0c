import { type EventInsertRow, eventRowOf, messageHeaders } from "@hookstream/audit-store";
import { DURABLES, Outcome, type RetryPolicy, type Topology } from "@hookstream/contracts";
import { RetryableError, runBatchConsumer, streamSeqOf } from "@hookstream/messaging";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { AuditMetrics } from "../auditMetrics";
import { recordOutcomes } from "../outcomes/recordOutcomes";
import { createEventWriter, type PreparedEvent, preparedEventOf } from "./insertEvents";

/**
 * The audit never dead-letters: the table is the record of everything that arrived,
 * so a batch that cannot be written (Postgres down) is nak'd again and again, with a
 * delay growing to a few seconds, for as long as the outage lasts (maxDeliver -1).
 */
export const AUDIT_RETRY = {
  maxDeliver: -1,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  ackWaitMs: 30_000,
} as const satisfies RetryPolicy;

/** full batches of `audit` that may wait beside those being written */
export const AUDIT_WAITING_BATCHES = 3;

/**
 * Batches of fewer events go by INSERT, one round trip, not COPY, two: at a steady rate
 * of a few hundred events a second most batches hold one event
 */
export const AUDIT_COPY_MIN_ROWS = 16;

export interface AuditConsumerOptions {
  js: JetStreamClient;
  orm: MikroORM;
  topology: Topology;
  logger: Logger;
  metrics: AuditMetrics;
  policy?: RetryPolicy;
  maxBatch?: number;
  /** `audit` batches written at once (default 2) */
  concurrency?: number;
  now?: () => Date;
}

export interface AuditConsumers {
  stop(): Promise<void>;
}

function retryable(what: string, err: unknown): RetryableError {
  return new RetryableError(`${what}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
}

/** `audit` on WEBHOOKS (one row per event) and `audit-outcomes` on WEBHOOK_OUTCOMES (the status fold). */
export function startAuditConsumers(opts: AuditConsumerOptions): AuditConsumers {
  const { js, orm, topology, logger, metrics } = opts;
  const policy = opts.policy ?? AUDIT_RETRY;
  const now = opts.now ?? (() => new Date());

  // one clock reading per millisecond: rows built in the same one share it (and its text)
  let clockMs = Number.NaN;
  let clockAt = now();
  const clock = (): Date => {
    const ms = Date.now();
    if (ms !== clockMs) {
      clockMs = ms;
      clockAt = now();
    }
    return clockAt;
  };
  const rowOf = (m: JsMsg, at: Date): EventInsertRow =>
    eventRowOf(
      { subject: m.subject, seq: streamSeqOf(m), headers: messageHeaders(m), data: m.data },
      topology,
      at,
    );

  const writer = createEventWriter({
    copyMinRows: AUDIT_COPY_MIN_ROWS,
    // at most once per pause: a conflict (the usual reason) is expected, not a fault
    onCopyFailed: (err) =>
      logger.info(
        { code: (err as { code?: string }).code, reason: err instanceof Error ? err.message : String(err) },
        "COPY could not take a batch; written by INSERT … ON CONFLICT, COPY paused",
      ),
    onRefused: (row, refused) =>
      logger.warn(
        { eventId: row.eventId.slice(0, 64), subject: row.subject, seq: row.streamSeq, refused },
        "Postgres refused the row; stored with its body as raw text or its keys shortened",
      ),
    onDropped: (row, refused) =>
      logger.error(
        { eventId: row.eventId.slice(0, 64), subject: row.subject, seq: row.streamSeq, refused },
        "Postgres refused the row however it was written; left out of webhook_events (the message stays in the stream)",
      ),
  });
  const events = runBatchConsumer({
    js,
    stream: topology.streams.webhooks,
    durable: DURABLES.audit,
    policy,
    logger: logger.child({ consumer: DURABLES.audit }),
    maxBatch: opts.maxBatch,
    // two batches at once: Node decodes one while Postgres writes the other (BENCHMARKS.md)
    concurrency: opts.concurrency ?? 2,
    // rows keep being built while both writers wait on Postgres: with one batch allowed
    // to wait the loop stopped there and the machine idled ~15 % of a drain (drain 0.60 →
    // 0.66 of the table ceiling over six alternating runs; five waiting was no better)
    maxWaitingBatches: AUDIT_WAITING_BATCHES,
    // each event is made ready for COPY as its message arrives, while earlier batches are
    // being written; the INSERT, when it has to write a batch, builds the rows again. While
    // COPY is left aside (a redelivered backlog) nothing is prepared: the line would go unused
    prepare: (m: JsMsg) => (writer.copying() ? preparedEventOf(rowOf(m, clock())) : undefined),
    async handleBatch(msgs: JsMsg[], prepared: Array<PreparedEvent | undefined>) {
      const timer = metrics.insertSeconds.startTimer();
      let inserted: number;
      try {
        inserted = (await writer.write(orm.em.fork(), () => msgs.map((m) => rowOf(m, clock())), prepared))
          .inserted;
      } catch (err) {
        metrics.batchFailures.inc({ durable: DURABLES.audit });
        throw retryable("cannot write webhook_events", err);
      }
      timer();
      metrics.batchSize.observe(msgs.length);
      metrics.rowsInserted.inc(inserted);
      metrics.duplicates.inc(msgs.length - inserted);
      logger.debug({ count: msgs.length, inserted }, "audit batch written");
    },
  });

  const outcomes = runBatchConsumer({
    js,
    stream: topology.streams.outcomes,
    durable: DURABLES.auditOutcomes,
    policy,
    logger: logger.child({ consumer: DURABLES.auditOutcomes }),
    maxBatch: opts.maxBatch,
    async handleBatch(msgs: JsMsg[]) {
      const valid: Outcome[] = [];
      for (const m of msgs) {
        let parsed: ReturnType<typeof Outcome.safeParse>;
        try {
          parsed = Outcome.safeParse(m.json());
        } catch {
          parsed = Outcome.safeParse(undefined);
        }
        if (parsed.success) valid.push(parsed.data);
        else {
          // not ours to fix and nothing to record: skipping it must not hold up the others
          metrics.outcomesInvalid.inc();
          logger.warn({ subject: m.subject, seq: m.seq }, "not an Outcome; skipped");
        }
      }
      let changed: boolean[];
      try {
        changed = await recordOutcomes(orm.em.fork(), valid, now());
      } catch (err) {
        metrics.batchFailures.inc({ durable: DURABLES.auditOutcomes });
        throw retryable("cannot apply outcomes", err);
      }
      valid.forEach((o, i) => {
        metrics.outcomesApplied.inc({ status: o.status, result: changed[i] ? "applied" : "stale" });
      });
    },
  });

  return {
    async stop() {
      await Promise.all([events.stop(), outcomes.stop()]);
    },
  };
}
