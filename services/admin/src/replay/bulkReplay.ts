import type { AuditStatus } from "@hookstream/audit-store";
import type { BulkReplayProgress, BulkReplaySummary, HandlerName, Topology } from "@hookstream/contracts";
import { inboxTable } from "@hookstream/handler-kit";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { typesTakenBy } from "./handlerTakesType";
import { MessageGoneError, republishEvent } from "./replayEvent";

/** Which audited events a bulk replay re-runs on one handler (already validated). */
export interface BulkReplayFilter {
  handler: HandlerName;
  /** one type the handler takes; absent: every type it takes */
  type?: string;
  status?: AuditStatus;
  since?: Date;
  until?: Date;
  resource?: { type: string; id: string };
}

export interface BulkReplayOptions {
  /** most events republished per second */
  rate: number;
  dryRun: boolean;
  force: boolean;
  /** rows read per keyset page */
  pageSize?: number;
  /** shortest time between two progress reports */
  progressEveryMs?: number;
  signal?: AbortSignal;
  onProgress?: (p: BulkReplayProgress) => void;
}

/** The default pace: each replay may call OpenAI and notify receivers again. */
export const DEFAULT_REPLAY_RATE = 50;

/** The WHERE clause (without the keyset bound) and its parameters. */
function whereOf(filter: BulkReplayFilter, topology: Topology): { sql: string; params: unknown[] } {
  const types = filter.type ? [filter.type] : typesTakenBy(filter.handler);
  // placeholders rows only know their id (stream_seq null): nothing to republish
  const parts = [
    "w.stream_seq IS NOT NULL",
    "starts_with(w.subject, ?)",
    `w.event_type IN (${types.map(() => "?").join(", ")})`,
  ];
  const params: unknown[] = [`${topology.subjects.openaiPrefix}.`, ...types];
  if (filter.status) {
    parts.push("w.status = ?");
    params.push(filter.status);
  }
  if (filter.since) {
    parts.push("w.created_at >= ?");
    params.push(filter.since);
  }
  if (filter.until) {
    parts.push("w.created_at < ?");
    params.push(filter.until);
  }
  if (filter.resource) {
    parts.push("w.resource_type = ?", "w.resource_id = ?");
    params.push(filter.resource.type, filter.resource.id);
  }
  return { sql: parts.join(" AND "), params };
}

async function tableExists(em: EntityManager, table: string): Promise<boolean> {
  const [row] = await em
    .getConnection()
    .execute<Array<{ exists: boolean }>>("SELECT to_regclass(?) IS NOT NULL AS exists", [table]);
  return row?.exists === true;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    });
  });

/**
 * Re-runs every audited event matching the filter on one handler: pages through
 * `webhook_events` by id (keyset, so a long run neither skips nor repeats rows that
 * arrive meanwhile) and republishes each event's original message to the handler's
 * replay durable, paced to `rate` per second. Resumable by running it again: the
 * handler's inbox skips what it has handled, unless `force`. A dry run only counts.
 */
export async function bulkReplay(
  deps: { em: EntityManager; js: JetStreamClient; jsm: JetStreamManager; topology: Topology },
  filter: BulkReplayFilter,
  opts: BulkReplayOptions,
): Promise<BulkReplaySummary> {
  const started = performance.now();
  const { em, topology } = deps;
  const conn = em.getConnection();
  const where = whereOf(filter, topology);
  const [countRow] = await conn.execute<Array<{ n: string }>>(
    `SELECT count(*) AS n FROM webhook_events w WHERE ${where.sql}`,
    where.params,
  );
  const matched = Number(countRow?.n ?? 0);
  const inbox = inboxTable(filter.handler);
  let alreadyHandled: number | null = null;
  if (await tableExists(em, inbox)) {
    const [row] = await conn.execute<Array<{ n: string }>>(
      `SELECT count(*) AS n FROM webhook_events w JOIN ${inbox} i ON i.event_id = w.event_id
       WHERE i.completed_at IS NOT NULL AND ${where.sql}`,
      where.params,
    );
    alreadyHandled = Number(row?.n ?? 0);
  }
  const summary = (replayed: number, missing: number): BulkReplaySummary => ({
    handler: filter.handler,
    dry_run: opts.dryRun,
    force: opts.force,
    matched,
    replayed,
    missing,
    already_handled: alreadyHandled,
    ms: Math.round(performance.now() - started),
  });
  if (opts.dryRun) return summary(0, 0);

  const pageSize = opts.pageSize ?? 500;
  const progressEveryMs = opts.progressEveryMs ?? 1_000;
  let replayed = 0;
  let missing = 0;
  let afterId = 0;
  const paceStart = performance.now();
  let lastProgress = 0;
  const report = (force = false) => {
    const now = performance.now();
    if (!force && now - lastProgress < progressEveryMs) return;
    lastProgress = now;
    const seconds = Math.max((now - paceStart) / 1000, 0.001);
    opts.onProgress?.({
      phase: "replay",
      matched,
      replayed,
      missing,
      rate: Math.round((replayed / seconds) * 10) / 10,
    });
  };
  report(true);
  for (;;) {
    if (opts.signal?.aborted) break;
    const rows = await conn.execute<
      Array<{ id: string; event_id: string; event_type: string; stream_seq: string }>
    >(
      `SELECT w.id, w.event_id, w.event_type, w.stream_seq FROM webhook_events w
       WHERE w.id > ? AND ${where.sql} ORDER BY w.id LIMIT ?`,
      [afterId, ...where.params, pageSize],
    );
    for (const row of rows) {
      if (opts.signal?.aborted) break;
      // pace: the n-th publish waits until n/rate seconds after the start
      const due = paceStart + ((replayed + missing) * 1000) / opts.rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait, opts.signal);
      try {
        await republishEvent(
          deps,
          { eventId: row.event_id, eventType: row.event_type, streamSeq: Number(row.stream_seq) },
          filter.handler,
          opts.force,
        );
        replayed++;
      } catch (err) {
        if (!(err instanceof MessageGoneError)) throw err;
        missing++;
      }
      afterId = Number(row.id);
      report();
    }
    if (rows.length < pageSize) break;
  }
  report(true);
  return summary(replayed, missing);
}
