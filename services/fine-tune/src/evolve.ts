import { type FineTuneStatus, type JobSnapshot, TERMINAL_FINE_TUNE_STATUSES } from "@hookstream/contracts";

/** One row of `fine_tune_jobs`, as the fold sees it. Times are unix seconds. */
export interface JobState {
  openaiJobId: string;
  status: FineTuneStatus;
  model: string | null;
  fineTunedModel: string | null;
  trainedTokens: number | null;
  error: unknown | null;
  createdAt: number | null;
  finishedAt: number | null;
  /** the OpenAI project of the job's events; null when no snapshot said */
  project: string | null;
  /** the newest event seen (by event created_at, then stream sequence) */
  lastEventId: string;
  lastEventAt: number;
  lastStreamSeq: number;
  /** the ordering key of the snapshot the status came from */
  statusEventAt: number;
  statusStreamSeq: number;
}

/** A snapshot with its place in the FINE_TUNING stream. */
export interface SequencedSnapshot {
  snapshot: JobSnapshot;
  seq: number;
}

function isTerminal(status: FineTuneStatus): boolean {
  return TERMINAL_FINE_TUNE_STATUSES.has(status);
}

/** (at1, seq1) after (at2, seq2): the ordering key of snapshots (a missing part counts as 0). */
function after(at1: number, seq1: number, at2: number, seq2: number): boolean {
  const d = (at1 ?? 0) - (at2 ?? 0);
  return d !== 0 ? d > 0 : (seq1 ?? 0) - (seq2 ?? 0) > 0;
}

/**
 * The projection fold, `evolve(job, snapshot) → job`. The rules, each a maximum or a
 * "first non-null by recency", so the result does not depend on the order in which
 * snapshots arrive, on duplicates, or on which instance applied which:
 *
 * 1. Order of snapshots: the event's `created_at`, then the stream sequence.
 * 2. Status: a terminal status (succeeded, failed, cancelled) beats any non-terminal
 *    one, whatever their order; between two of the same kind the newer wins. So a
 *    terminal status is never replaced by a non-terminal one, and an older snapshot
 *    never overwrites a newer one.
 * 3. Fields known only later (fine_tuned_model, trained_tokens, finished_at, error,
 *    and model/created_at, and the project, which older snapshots do not carry): the newer snapshot's value when it has one, else the
 *    value already known — they are filled and never blanked. (A field, once known,
 *    keeps its value in OpenAI's API; the fold relies on that for order-independence.)
 * 4. A duplicate (the same snapshot again) changes nothing.
 * 5. last_event_* follow the newest snapshot.
 */
export function evolve(job: JobState | null, { snapshot, seq }: SequencedSnapshot): JobState {
  const s = snapshot.job;
  const incoming: JobState = {
    openaiJobId: s.id,
    status: s.status,
    model: s.model,
    fineTunedModel: s.fine_tuned_model,
    trainedTokens: s.trained_tokens,
    error: s.error ?? null,
    createdAt: s.created_at,
    finishedAt: s.finished_at,
    project: snapshot.project ?? null,
    lastEventId: snapshot.event_id,
    lastEventAt: snapshot.event_created_at,
    lastStreamSeq: seq,
    statusEventAt: snapshot.event_created_at,
    statusStreamSeq: seq,
  };
  if (job === null) return incoming;
  return merge(job, incoming);
}

/**
 * Merges two states of the same job (each a fold of some snapshots): the same rules
 * as `evolve`, so folding a batch first and merging it into the stored row gives
 * the same row as applying the snapshots one by one.
 */
export function merge(a: JobState, b: JobState): JobState {
  // plain comparisons, no key arrays: a rebuild merges once per snapshot, and the arrays
  // the comparison used to build were a third of the fold's time (BENCHMARKS.md)
  const newer = after(b.lastEventAt, b.lastStreamSeq, a.lastEventAt, a.lastStreamSeq) ? b : a;
  const older = newer === b ? a : b;
  const terminalA = isTerminal(a.status);
  const terminalB = isTerminal(b.status);
  const statusFrom =
    terminalB !== terminalA
      ? terminalB
        ? b
        : a
      : after(b.statusEventAt, b.statusStreamSeq, a.statusEventAt, a.statusStreamSeq)
        ? b
        : a;
  return {
    openaiJobId: a.openaiJobId,
    status: statusFrom.status,
    statusEventAt: statusFrom.statusEventAt,
    statusStreamSeq: statusFrom.statusStreamSeq,
    model: newer.model ?? older.model,
    fineTunedModel: newer.fineTunedModel ?? older.fineTunedModel,
    trainedTokens: newer.trainedTokens ?? older.trainedTokens,
    error: newer.error ?? older.error,
    createdAt: newer.createdAt ?? older.createdAt,
    finishedAt: newer.finishedAt ?? older.finishedAt,
    project: newer.project ?? older.project,
    lastEventId: newer.lastEventId,
    lastEventAt: newer.lastEventAt,
    lastStreamSeq: newer.lastStreamSeq,
  };
}

/** Folds snapshots of many jobs into one state per job. */
export function foldAll(
  snapshots: Iterable<SequencedSnapshot>,
  into = new Map<string, JobState>(),
): Map<string, JobState> {
  for (const s of snapshots) {
    const id = s.snapshot.job.id;
    into.set(id, evolve(into.get(id) ?? null, s));
  }
  return into;
}
