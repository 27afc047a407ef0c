import {
  DlqHeader,
  type ErasureCounts,
  type ErasureResult,
  HANDLER_NAMES,
  jobSubject,
  MessageHeader,
  NotificationHeader,
  OPENAI_PROVIDER,
  type Topology,
} from "@hookstream/contracts";
import { inboxTable } from "@hookstream/handler-kit";
import type { EntityManager } from "@mikro-orm/postgresql";
import {
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from "@nats-io/jetstream";
import { ConflictError } from "../admin/adminErrors";
import { sameEvent } from "../replay/replayEvent";
import { type ScanResult, scanStream } from "./scanStream";

/** One event (its id, and its provider unless the id alone names it), or every event of one resource. */
export type ErasureTarget =
  | { eventId: string; provider?: string }
  | { resourceType: string; resourceId: string };

export interface EraseOptions {
  dryRun: boolean;
  /** the admin token's label: who asked */
  actor: string;
  /** most messages read per stream scan (DLQ, outcomes, replays, FINE_TUNING) */
  scanLimit?: number;
}

export interface EraseDeps {
  em: EntityManager;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  now: () => Date;
}

/** Resource type of a fine-tuning job (contracts' resourceOf): its snapshots and projection row go too. */
const FINE_TUNING_JOB = "fine_tuning_job";

/** Outcomes are read from a little before the event's first audit row: clocks and the audit's lag. */
const OUTCOME_SCAN_MARGIN_MS = 10 * 60_000;

export const DEFAULT_SCAN_LIMIT = 1_000_000;

interface AuditRow {
  id: string;
  event_id: string;
  provider: string;
  event_type: string;
  stream_seq: string | null;
  resource_type: string | null;
  resource_id: string | null;
  /** a Date or an ISO string, depending on the driver's type parsing */
  created_at: Date | string;
}

const decoder = new TextDecoder();

/** The event id a message carries in its JSON body (`id` of an event, `event_id` of an outcome or snapshot). */
function bodyIds(msg: JsMsg): string[] {
  try {
    const body = JSON.parse(decoder.decode(msg.data)) as { id?: unknown; event_id?: unknown };
    return [body?.id, body?.event_id].filter((v): v is string => typeof v === "string");
  } catch {
    return [];
  }
}

async function tableExists(em: EntityManager, table: string): Promise<boolean> {
  const [row] = await em
    .getConnection()
    .execute<Array<{ exists: boolean }>>("SELECT to_regclass(?) IS NOT NULL AS exists", [table]);
  return row?.exists === true;
}

const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

/**
 * What an erasure cut short by a scan bound keeps for the run that finishes it (the
 * `erasures` row's `resume`; null once a run finished): ids and stream positions,
 * never a payload.
 */
export interface ErasureResume {
  /** the OpenAI event ids being erased */
  event_ids: string[];
  /** their types (the replay and DLQ subjects scanned) */
  types: string[];
  /** the fine-tuning jobs whose snapshots are erased */
  job_ids: string[];
  /** the first audit row's time: outcome, delivery and notification scans start a margin before it */
  since: string | null;
  /** where each scan that hit its bound continues, by `<stream> <subject>`: the next sequence */
  scans: Record<string, number>;
}

/**
 * The resume point of the last erasure of this target when that run was cut short, else
 * null: a run that finished (or none yet) means the next starts afresh.
 */
async function pendingErasure(
  em: EntityManager,
  target: ErasureResult["target"],
): Promise<ErasureResume | null> {
  const [last] = await em
    .getConnection()
    .execute<Array<{ resume: ErasureResume | string | null }>>(
      "SELECT resume FROM erasures WHERE target = ?::jsonb ORDER BY id DESC LIMIT 1",
      [JSON.stringify(target)],
    );
  const resume = last?.resume ?? null;
  return typeof resume === "string" ? (JSON.parse(resume) as ErasureResume) : resume;
}

/**
 * Erases one event, or every event of one resource, from every store that holds a
 * copy: WEBHOOKS (by the audit's `stream_seq`), WEBHOOK_REPLAYS, WEBHOOK_DLQ and
 * WEBHOOK_OUTCOMES (bounded scans matching the event ids), FINE_TUNING (the job's
 * subject), every handler's inbox, `fine_tune_jobs` and `webhook_events`. Stream
 * messages are deleted by sequence with `erase` (overwritten on disk, not only
 * unlinked). When a scan stops at its bound (`truncated`), the run's `erasures` row
 * keeps what the next run of the same target needs (ErasureResume: the event ids,
 * types, jobs and where each scan stopped), so running it again finishes it although
 * the audit rows are gone. Writes one row to `erasures` (ids and counts, never a
 * payload) unless `dryRun`, which only counts.
 */
export async function eraseEverywhere(
  deps: EraseDeps,
  target: ErasureTarget,
  opts: EraseOptions,
): Promise<ErasureResult> {
  const { em, js, jsm, topology } = deps;
  const conn = em.getConnection();
  const limit = opts.scanLimit ?? DEFAULT_SCAN_LIMIT;
  const truncated: string[] = [];
  const byEvent = "eventId" in target;

  const byProvider = byEvent && target.provider !== undefined;
  const targetRecord: ErasureResult["target"] = byEvent
    ? { event_id: target.eventId, ...(byProvider ? { provider: target.provider } : {}) }
    : { resource_type: target.resourceType, resource_id: target.resourceId };
  // an earlier run of this erasure cut short by a scan bound: its audit rows are gone,
  // so what it found (ids, types, jobs, where each scan stopped) comes from its record
  const pending = await pendingErasure(em, targetRecord);
  const nextScans: Record<string, number> = {};
  /** One bounded scan, continued where the earlier run's stopped; its stop point is kept when it stops again. */
  const scan = async (
    stream: string,
    subject: string,
    match: (m: JsMsg) => boolean,
    since?: Date,
  ): Promise<ScanResult> => {
    const key = `${stream} ${subject}`;
    const startSeq = pending?.scans[key];
    const r = await scanStream(
      js,
      jsm,
      stream,
      { subject, limit, ...(startSeq !== undefined ? { startSeq } : since ? { since } : {}) },
      match,
    );
    if (r.truncated) {
      truncated.push(stream);
      if (r.nextSeq !== null) nextScans[key] = r.nextSeq;
    }
    return r;
  };
  const rows = await conn.execute<AuditRow[]>(
    `SELECT id, event_id, provider, event_type, stream_seq, resource_type, resource_id, created_at
     FROM webhook_events WHERE ${byEvent ? `event_id = ?${byProvider ? " AND provider = ?" : ""}` : "resource_type = ? AND resource_id = ?"}`,
    byEvent
      ? [target.eventId, ...(byProvider ? [target.provider] : [])]
      : [target.resourceType, target.resourceId],
  );
  if (byEvent && new Set(rows.map((r) => r.provider)).size > 1) {
    throw new ConflictError(
      `events of several providers have the id ${target.eventId} (${rows.map((r) => r.provider).join(", ")}): name one with provider`,
      "ambiguous_event_id",
    );
  }
  // the handlers' stores (outcomes, DLQ, replays, inboxes, attempts, deliveries) hold
  // OpenAI's events only: another provider's event shares nothing there with an
  // OpenAI event of the same id
  const openaiRows = rows.filter((r) => r.provider === OPENAI_PROVIDER);
  const eventIds = new Set([...openaiRows.map((r) => r.event_id), ...(pending?.event_ids ?? [])]);
  if (byEvent && (target.provider ?? rows[0]?.provider ?? OPENAI_PROVIDER) === OPENAI_PROVIDER) {
    eventIds.add(target.eventId);
  }
  const types = [...new Set([...openaiRows.map((r) => r.event_type), ...(pending?.types ?? [])])];

  // FINE_TUNING first: a job's snapshots name events the audit may no longer hold
  const jobIds = new Set<string>(pending?.job_ids ?? []);
  if (!byEvent && target.resourceType === FINE_TUNING_JOB) jobIds.add(target.resourceId);
  for (const r of openaiRows)
    if (r.resource_type === FINE_TUNING_JOB && r.resource_id) jobIds.add(r.resource_id);
  const fineTuningSeqs: number[] = [];
  let snapshotsLeft = 0;
  for (const jobId of jobIds) {
    const found = await scan(topology.streams.fineTuning, jobSubject(topology, jobId), (msg) => {
      if (!byEvent) {
        for (const id of bodyIds(msg)) eventIds.add(id);
        return true;
      }
      return bodyIds(msg).some((id) => eventIds.has(id));
    });
    fineTuningSeqs.push(...found.seqs);
    snapshotsLeft += found.read - found.seqs.length;
  }
  const matches = (msg: JsMsg) => bodyIds(msg).some((id) => eventIds.has(id));

  const webhookSeqs: number[] = [];
  for (const r of rows) {
    if (r.stream_seq === null) continue;
    const msg = await jsm.streams
      .getMessage(topology.streams.webhooks, { seq: Number(r.stream_seq) })
      .catch((err: unknown) => {
        if (err instanceof JetStreamApiError && err.status === 404) return null;
        throw err;
      });
    if (msg && sameEvent(msg.header?.get(MessageHeader.MsgId), msg.data, r.event_id, r.provider)) {
      webhookSeqs.push(Number(r.stream_seq));
    }
  }

  const scanAll = async (stream: string, subjects: string[], match: (m: JsMsg) => boolean, since?: Date) => {
    // two filters may both take a subject (a destination named like a type's first token)
    const seqs = new Set<number>();
    for (const subject of subjects)
      for (const seq of (await scan(stream, subject, match, since)).seqs) seqs.add(seq);
    return [...seqs];
  };
  // without an audit row the types are unknown: the whole DLQ / replay stream is read;
  // with no OpenAI event to look for, none is. A handler's copies are on `<prefix>.<handler>.<type>`,
  // a destination's (its dead letters, their redrives) on `<prefix>.delivery.<name>.<type>`.
  const bySubjectType = (prefix: string) =>
    eventIds.size === 0
      ? []
      : types.length > 0
        ? types.flatMap((t) => [`${prefix}.*.${t}`, `${prefix}.delivery.*.${t}`])
        : [`${prefix}.>`];
  const everything = (prefix: string) => (eventIds.size === 0 ? [] : [`${prefix}.>`]);
  const replaySeqs = await scanAll(
    topology.streams.replays,
    bySubjectType(topology.subjects.replaysPrefix),
    matches,
  );
  const dlqSeqs = await scanAll(topology.streams.dlq, bySubjectType(topology.subjects.dlqPrefix), (msg) => {
    const id = msg.headers?.get(DlqHeader.EventId);
    return (id !== undefined && eventIds.has(id)) || matches(msg);
  });
  // outcomes are published after their event arrived: read from the first row's time on
  const first = rows.reduce<number | null>(
    (min, r) => Math.min(min ?? Number.POSITIVE_INFINITY, new Date(r.created_at).getTime()),
    pending?.since ? Date.parse(pending.since) : null,
  );
  const outcomeSeqs = await scanAll(
    topology.streams.outcomes,
    everything(topology.subjects.outcomesPrefix),
    matches,
    first === null ? undefined : new Date(first - OUTCOME_SCAN_MARGIN_MS),
  );

  // delivery records are published while the event is handled: read from the first row's time on
  const deliverySeqs = await scanAll(
    topology.streams.deliveries,
    everything(topology.subjects.deliveriesPrefix),
    matches,
    first === null ? undefined : new Date(first - OUTCOME_SCAN_MARGIN_MS),
  );

  // the handlers' notifications (stream NOTIFICATIONS) are published while the event is handled
  const notificationSeqs = await scanAll(
    topology.streams.notifications,
    [`${topology.subjects.notificationsPrefix}.>`],
    (msg) => {
      const id = msg.headers?.get(NotificationHeader.EventId);
      return (id !== undefined && eventIds.has(id)) || matches(msg);
    },
    first === null ? undefined : new Date(first - OUTCOME_SCAN_MARGIN_MS),
  );

  const ids = [...eventIds];
  // `IN ()` is no SQL: with no id to look for, each table has none of them
  const count = async (table: string, column: string, values: string[]) => {
    if (values.length === 0) return 0;
    const [row] = await conn.execute<Array<{ n: string }>>(
      `SELECT count(*) AS n FROM ${table} WHERE ${column} IN (${placeholders(values.length)})`,
      values,
    );
    return Number(row?.n ?? 0);
  };
  // the audit's own tables beside webhook_events: the attempt timeline and the delivery log
  const logTables = ["webhook_attempts", "webhook_deliveries"] as const;
  const logCounts: Record<(typeof logTables)[number], number> = {
    webhook_attempts: 0,
    webhook_deliveries: 0,
  };
  for (const table of logTables) {
    if (!(await tableExists(em, table))) continue;
    logCounts[table] = await count(table, "event_id", ids);
  }
  const inboxCounts: Record<string, number> = {};
  const inboxTables: string[] = [];
  for (const handler of HANDLER_NAMES) {
    const table = inboxTable(handler);
    // a handler that never ran here has no table: nothing of the event there
    if (!(await tableExists(em, table))) continue;
    const n = await count(table, "event_id", ids);
    inboxCounts[handler] = n;
    if (n > 0) inboxTables.push(table);
  }
  const jobs = [...jobIds];
  const hasJobsTable = jobs.length > 0 && (await tableExists(em, "fine_tune_jobs"));
  let jobRows = 0;
  if (hasJobsTable) jobRows = await count("fine_tune_jobs", "openai_job_id", jobs);

  const counts: ErasureCounts = {
    webhook_events: rows.length,
    webhooks: webhookSeqs.length,
    replays: replaySeqs.length,
    dlq: dlqSeqs.length,
    outcomes: outcomeSeqs.length,
    fine_tuning: fineTuningSeqs.length,
    inbox: inboxCounts,
    fine_tune_jobs: jobRows,
    webhook_attempts: logCounts.webhook_attempts,
    webhook_deliveries: logCounts.webhook_deliveries,
    deliveries: deliverySeqs.length,
    notifications: notificationSeqs.length,
  };
  const at = deps.now();
  const result: ErasureResult = {
    dry_run: opts.dryRun,
    target: targetRecord,
    event_ids: [...new Set([...rows.map((r) => r.event_id), ...ids])].sort(),
    counts,
    erasure_id: null,
    actor: opts.actor,
    at: at.toISOString(),
    truncated: [...new Set(truncated)],
    // the job's row was folded from this event too; its other snapshots refold it
    rebuild_advised: byEvent && jobRows > 0 && snapshotsLeft > 0,
  };
  if (opts.dryRun) return result;

  // A scan stopped at its bound: the next run of the same target needs what this one
  // found, since the audit rows that named the events are deleted below.
  const resume: ErasureResume | null =
    truncated.length === 0
      ? null
      : {
          event_ids: ids,
          types,
          job_ids: jobs,
          since: first === null ? null : new Date(first).toISOString(),
          scans: nextScans,
        };

  const remove = async (stream: string, seqs: number[]) => {
    for (const seq of seqs) {
      await jsm.streams.deleteMessage(stream, seq, true).catch((err: unknown) => {
        // gone meanwhile (max age, another erasure): that is the goal
        if (
          !(err instanceof JetStreamApiError && err.status === 404) &&
          !/no message found/i.test(String(err))
        )
          throw err;
      });
    }
  };
  await remove(topology.streams.fineTuning, fineTuningSeqs);
  await remove(topology.streams.webhooks, webhookSeqs);
  await remove(topology.streams.replays, replaySeqs);
  await remove(topology.streams.dlq, dlqSeqs);
  await remove(topology.streams.outcomes, outcomeSeqs);
  await remove(topology.streams.deliveries, deliverySeqs);
  await remove(topology.streams.notifications, notificationSeqs);
  for (const table of logTables) {
    if (logCounts[table] > 0) {
      await conn.execute(`DELETE FROM ${table} WHERE event_id IN (${placeholders(ids.length)})`, ids);
    }
  }
  for (const table of inboxTables) {
    await conn.execute(`DELETE FROM ${table} WHERE event_id IN (${placeholders(ids.length)})`, ids);
  }
  if (hasJobsTable) {
    await conn.execute(
      `DELETE FROM fine_tune_jobs WHERE openai_job_id IN (${placeholders(jobs.length)})`,
      jobs,
    );
  }
  await em.transactional(async (tx) => {
    const c = tx.getConnection();
    const ctx = tx.getTransactionContext();
    if (rows.length > 0) {
      await c.execute(
        `DELETE FROM webhook_events WHERE id IN (${placeholders(rows.length)})`,
        rows.map((r) => r.id),
        "run",
        ctx,
      );
    }
    const [inserted] = await c.execute<Array<{ id: string }>>(
      `INSERT INTO erasures (target, event_ids, counts, actor, erased_at, resume)
       VALUES (?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?::jsonb) RETURNING id`,
      [
        JSON.stringify(result.target),
        JSON.stringify(result.event_ids),
        JSON.stringify(counts),
        opts.actor,
        at,
        resume === null ? null : JSON.stringify(resume),
      ],
      "all",
      ctx,
    );
    result.erasure_id = Number(inserted?.id);
  });
  return result;
}
