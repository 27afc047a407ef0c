import { Counter, Gauge, type Registry } from "@hookstream/observability";
import type { MikroORM } from "@mikro-orm/postgresql";
import pg from "pg";
import type { Logger } from "pino";
import type { AuditConfig } from "../config";

export type RetentionConfig = Pick<
  AuditConfig,
  | "DATABASE_URL"
  | "AUDIT_RETENTION_DAYS"
  | "AUDIT_RETENTION_INTERVAL_MS"
  | "AUDIT_RETENTION_BATCH_SIZE"
  | "AUDIT_RETENTION_PAUSE_MS"
>;

export interface Retention {
  /** runs one pass now (the schedule keeps going); resolves with the rows deleted, null when another instance holds the lock */
  runOnce(): Promise<number | null>;
  stop(): Promise<void>;
}

/** The advisory lock that lets one audit instance at a time delete (any instance may hold it). */
export const RETENTION_LOCK = "hookstream:audit-retention";

const DAY_MS = 86_400_000;

/**
 * Audit retention: every `AUDIT_RETENTION_INTERVAL_MS`, rows of `webhook_events`
 * older than `AUDIT_RETENTION_DAYS` are deleted in batches of
 * `AUDIT_RETENTION_BATCH_SIZE` — each batch one short statement on the `created_at`
 * index, a pause between batches — so no lock is held long and the audit's inserts
 * keep flowing. One instance at a time: a pass runs only while its session holds
 * the advisory lock (`pg_try_advisory_lock`); the others skip that round. With
 * AUDIT_RETENTION_DAYS unset nothing is deleted, and the oldest-row gauge still reports.
 */
export function startRetention(deps: {
  orm: MikroORM;
  config: RetentionConfig;
  registry: Registry;
  logger: Logger;
  now: () => Date;
}): Retention {
  const { orm, config, registry, now } = deps;
  const logger = deps.logger.child({ component: "retention" });
  const deleted = new Counter({
    name: "hookstream_audit_retention_deleted_total",
    help: "webhook_events rows deleted by AUDIT_RETENTION_DAYS",
    registers: [registry],
  });
  new Gauge({
    name: "hookstream_audit_oldest_event_age_seconds",
    help: "age of the oldest webhook_events row (created_at), 0 when the table is empty",
    registers: [registry],
    async collect() {
      // min(created_at) is one index probe (webhook_events_created_at_idx)
      const [row] = await orm.em
        .getConnection()
        .execute<Array<{ oldest: Date | null }>>("SELECT min(created_at) AS oldest FROM webhook_events")
        .catch(() => [{ oldest: null }]);
      this.set(row?.oldest ? Math.max(0, (now().getTime() - new Date(row.oldest).getTime()) / 1000) : 0);
    },
  });

  const days = config.AUDIT_RETENTION_DAYS;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number | null> | null = null;
  let wake: (() => void) | null = null;

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function pass(): Promise<number | null> {
    if (days === undefined) return 0;
    const cutoff = new Date(now().getTime() - days * DAY_MS);
    // its own session: the advisory lock belongs to a session, and the ORM's pool hands out any connection
    const client = new pg.Client({ connectionString: config.DATABASE_URL, connectionTimeoutMillis: 5_000 });
    await client.connect();
    try {
      // a batch that waits on a lock gives up instead of queueing the inserts behind it
      await client.query("SET lock_timeout = '5s'; SET statement_timeout = '60s'");
      const { rows } = await client.query<{ locked: boolean }>(
        "SELECT pg_try_advisory_lock(hashtext($1)) AS locked",
        [RETENTION_LOCK],
      );
      if (!rows[0]?.locked) {
        logger.debug("another audit instance runs the retention; skipping this round");
        return null;
      }
      let total = 0;
      const started = performance.now();
      try {
        for (;;) {
          // the events' attempt timeline and delivery log go with them, in the same statement
          const res = await client.query<{ n: string }>(
            `WITH gone AS (
               DELETE FROM webhook_events WHERE id IN (
                 SELECT id FROM webhook_events WHERE created_at < $1 LIMIT $2)
               RETURNING event_id),
             attempts AS (DELETE FROM webhook_attempts WHERE event_id IN (SELECT event_id FROM gone)),
             deliveries AS (DELETE FROM webhook_deliveries WHERE event_id IN (SELECT event_id FROM gone))
             SELECT count(*) AS n FROM gone`,
            [cutoff, config.AUDIT_RETENTION_BATCH_SIZE],
          );
          const n = Number(res.rows[0]?.n ?? 0);
          total += n;
          deleted.inc(n);
          if (n < config.AUDIT_RETENTION_BATCH_SIZE || stopping) break;
          await pause(config.AUDIT_RETENTION_PAUSE_MS);
        }
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext($1))", [RETENTION_LOCK]);
      }
      if (total > 0) {
        logger.info(
          { deleted: total, cutoff: cutoff.toISOString(), ms: Math.round(performance.now() - started) },
          "audit retention: old rows deleted",
        );
      }
      return total;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  function runOnce(): Promise<number | null> {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  }

  function schedule(delayMs: number) {
    if (stopping || days === undefined) return;
    timer = setTimeout(() => {
      runOnce()
        .catch((err: unknown) => logger.warn({ err }, "audit retention pass failed; retried next round"))
        .finally(() => schedule(config.AUDIT_RETENTION_INTERVAL_MS));
    }, delayMs);
    timer.unref();
  }
  if (days !== undefined) {
    logger.info({ days, intervalMs: config.AUDIT_RETENTION_INTERVAL_MS }, "audit retention on");
  }
  // the first pass soon after start, so a restarted instance does not wait a full interval
  schedule(Math.min(10_000, config.AUDIT_RETENTION_INTERVAL_MS));

  return {
    runOnce,
    async stop() {
      stopping = true;
      clearTimeout(timer);
      wake?.();
      await running?.catch(() => undefined);
    },
  };
}
