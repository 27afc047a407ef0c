import type { Topology } from "@hookstream/contracts";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { applyStates, insertStates } from "./applyStates";
import { evolve, foldAll, type JobState } from "./evolve";
import { jobsTableDdl, renameJobsTableSql } from "./jobsTableDdl";
import { parseSnapshot } from "./parseSnapshot";
import { readStream } from "./readStream";

export interface RebuildProgress {
  phase: "replay" | "write" | "catch-up" | "swap" | "done";
  read: number;
  total: number;
}

export interface RebuildResult {
  snapshots: number;
  jobs: number;
  skipped: number;
  caughtUp: number;
  ms: number;
  /** where the time went: replaying the stream and folding, writing the fresh table and its indexes, catch-up and swap */
  phasesMs: { replay: number; write: number; swap: number };
}

const LIVE = "fine_tune_jobs";
const REBUILD = "fine_tune_jobs_rebuild";
/** the advisory lock every instance takes to rebuild (per database, like the tables it guards) */
const REBUILD_LOCK = "hookstream:fine_tune_jobs:rebuild";

/** Another rebuild holds the lock, on this instance or another: the admin API answers 409. */
export class RebuildRunningError extends Error {
  readonly code = "rebuild_running";
  constructor() {
    super(
      "a rebuild of fine_tune_jobs is already running (on this or another instance); try again when it ends",
    );
    this.name = "RebuildRunningError";
  }
}

interface PgSession {
  query(sql: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
}
interface PoolClient {
  acquireConnection(): Promise<PgSession>;
  releaseConnection(conn: PgSession): Promise<unknown>;
}

/**
 * Runs `work` holding the rebuild's session-level advisory lock, on a connection kept
 * for the whole rebuild: two rebuilds would both drop and fill the rebuild table, and
 * one could swap in the other's partial table. If the process dies, Postgres ends
 * the session and the lock goes with it.
 */
async function withRebuildLock<T>(orm: MikroORM, work: () => Promise<T>): Promise<T> {
  const pool = orm.em.getConnection().getKnex().client as PoolClient;
  const session = await pool.acquireConnection();
  try {
    const { rows } = await session.query("SELECT pg_try_advisory_lock(hashtext($1)) AS locked", [
      REBUILD_LOCK,
    ]);
    if (rows[0]?.locked !== true) throw new RebuildRunningError();
    try {
      return await work();
    } finally {
      await session.query("SELECT pg_advisory_unlock(hashtext($1))", [REBUILD_LOCK]);
    }
  } finally {
    await pool.releaseConnection(session);
  }
}

/**
 * Rebuilds `fine_tune_jobs` from FINE_TUNING without stopping anything: replays the
 * stream from its first message into a fresh table beside the live one (the live
 * table keeps answering and the live consumer keeps writing), then — holding a lock
 * that blocks writers but not readers — applies the messages that arrived meanwhile
 * and swaps the tables in the same transaction. It reads the stream and writes one
 * table: it publishes nothing, so no handler runs and no notification is sent.
 * One rebuild at a time across instances: a second one throws RebuildRunningError.
 */
export async function rebuildProjection(opts: RebuildOptions): Promise<RebuildResult> {
  return withRebuildLock(opts.orm, () => rebuildLocked(opts));
}

export interface RebuildOptions {
  orm: MikroORM;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  onProgress?: (p: RebuildProgress) => void;
}

async function rebuildLocked(opts: RebuildOptions): Promise<RebuildResult> {
  const started = performance.now();
  const { orm, js, jsm, topology } = opts;
  const stream = topology.streams.fineTuning;
  const progress = opts.onProgress ?? (() => {});
  const conn = orm.em.getConnection();

  await conn.execute(`DROP TABLE IF EXISTS ${REBUILD}`);
  // the table with its primary key now; its other indexes once the bulk insert is in:
  // building an index over the rows at once is cheaper than maintaining it row by row
  const [createTable, ...indexes] = jobsTableDdl(REBUILD);
  if (createTable) await conn.execute(createTable);

  const info = await jsm.streams.info(stream);
  const lastSeq = info.state.last_seq;
  const total = info.state.messages;
  // the lock is held: say so at once (the admin API starts its 200 answer on the first progress)
  progress({ phase: "replay", read: 0, total });
  const states = new Map<string, JobState>();
  let snapshots = 0;
  let skipped = 0;
  await readStream(js, stream, { fromSeq: info.state.first_seq, toSeq: lastSeq }, (msg) => {
    const s = parseSnapshot(msg);
    if (s) {
      const id = s.snapshot.job.id;
      states.set(id, evolve(states.get(id) ?? null, s));
      snapshots++;
    } else skipped++;
    if ((snapshots + skipped) % 10_000 === 0) progress({ phase: "replay", read: snapshots + skipped, total });
  });
  const replayed = performance.now();
  progress({ phase: "write", read: snapshots + skipped, total });
  // the fresh table is this rebuild's alone (the lock): a plain insert, no guard
  await insertStates(orm.em.fork(), states.values(), REBUILD);
  for (const sql of indexes) await conn.execute(sql);
  const written = performance.now();

  let caughtUp = 0;
  await orm.em.fork().transactional(async (em) => {
    const tx = em.getConnection();
    const ctx = em.getTransactionContext();
    // the live table may have been dropped by hand: then there is nothing to lock or keep
    const [live] = await tx.execute<Array<{ exists: boolean }>>(
      `SELECT to_regclass(?) IS NOT NULL AS exists`,
      [LIVE],
      "all",
      ctx,
    );
    // EXCLUSIVE blocks the live consumer's writes but not reads: queries keep answering
    if (live?.exists) await tx.execute(`LOCK TABLE ${LIVE} IN EXCLUSIVE MODE`, [], "run", ctx);
    const now = await jsm.streams.info(stream);
    progress({ phase: "catch-up", read: snapshots + skipped, total: now.state.messages });
    const tail = new Map<string, JobState>();
    caughtUp = await readStream(js, stream, { fromSeq: lastSeq + 1, toSeq: now.state.last_seq }, (msg) => {
      const s = parseSnapshot(msg);
      if (s) foldAll([s], tail);
    });
    await applyStates(em, tail.values(), REBUILD);
    progress({ phase: "swap", read: snapshots + skipped + caughtUp, total: now.state.messages });
    // a live write blocked on the lock fails on the dropped table and is redelivered to the new one
    if (live?.exists) await tx.execute(`DROP TABLE ${LIVE}`, [], "run", ctx);
    for (const sql of renameJobsTableSql(REBUILD, LIVE)) await tx.execute(sql, [], "run", ctx);
  });
  progress({ phase: "done", read: snapshots + skipped + caughtUp, total });
  const ended = performance.now();
  return {
    snapshots,
    jobs: states.size,
    skipped,
    caughtUp,
    ms: Math.round(ended - started),
    phasesMs: {
      replay: Math.round(replayed - started),
      write: Math.round(written - replayed),
      swap: Math.round(ended - written),
    },
  };
}
