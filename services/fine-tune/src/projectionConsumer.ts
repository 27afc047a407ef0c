import { DURABLES, type RetryPolicy, type Topology } from "@hookstream/contracts";
import { RetryableError, runBatchConsumer } from "@hookstream/messaging";
import type { Counter } from "@hookstream/observability";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { applyStates } from "./applyStates";
import { foldAll, type SequencedSnapshot } from "./evolve";
import { parseSnapshot } from "./parseSnapshot";

/** A projection never dead-letters: the stream is the truth, an outage only delays the fold. */
export const PROJECTION_RETRY = {
  maxDeliver: -1,
  baseDelayMs: 250,
  maxDelayMs: 5_000,
  ackWaitMs: 30_000,
} as const satisfies RetryPolicy;

export interface ProjectionMetrics {
  applied: Counter;
  stale: Counter;
  invalid: Counter;
}

/**
 * The `fine-tune` durable on FINE_TUNING: each batch is folded per job in memory,
 * then written with one guarded upsert (applyStates), then acked.
 */
export function startProjectionConsumer(opts: {
  js: JetStreamClient;
  orm: MikroORM;
  topology: Topology;
  logger: Logger;
  metrics: ProjectionMetrics;
  policy?: RetryPolicy;
  maxBatch?: number;
}) {
  const { orm, logger, metrics } = opts;
  return runBatchConsumer({
    js: opts.js,
    stream: opts.topology.streams.fineTuning,
    durable: DURABLES.fineTune,
    policy: opts.policy ?? PROJECTION_RETRY,
    logger: logger.child({ consumer: DURABLES.fineTune }),
    maxBatch: opts.maxBatch,
    async handleBatch(msgs) {
      const snapshots: SequencedSnapshot[] = [];
      for (const m of msgs) {
        const s = parseSnapshot(m);
        if (s) snapshots.push(s);
        else {
          metrics.invalid.inc();
          logger.warn({ subject: m.subject, seq: m.seq }, "not a job snapshot; skipped");
        }
      }
      const states = foldAll(snapshots);
      let written: number;
      try {
        written = await applyStates(orm.em.fork(), states.values());
      } catch (err) {
        throw new RetryableError(
          `writing fine_tune_jobs: ${err instanceof Error ? err.message : String(err)}`,
          {
            cause: err,
          },
        );
      }
      metrics.applied.inc(snapshots.length);
      metrics.stale.inc(states.size - written);
    },
  });
}
