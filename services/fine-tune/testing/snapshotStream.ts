import { FINE_TUNE_STATUSES, type FineTuneStatus } from "@hookstream/contracts";
import fc from "fast-check";
import type { SequencedSnapshot } from "../src/evolve";

/**
 * Snapshots of a few jobs as a stream would hold them (seq = position): each job has
 * one true value per late field, and each snapshot knows it or not (null) — as
 * OpenAI's API reports a job; the project likewise (older snapshots have none).
 * Event times may tie; the sequence breaks ties.
 */
export function snapshotStream(opts: { jobs: number; maxPerJob: number; minJobs?: number }) {
  const job = fc.record({
    model: fc.constantFrom("gpt-4o-mini", "gpt-4.1-nano", "babbage-002"),
    ftModel: fc.string({ minLength: 3, maxLength: 8 }).map((s) => `ft:${s}`),
    tokens: fc.integer({ min: 1, max: 1_000_000 }),
    createdAt: fc.integer({ min: 1_700_000_000, max: 1_700_100_000 }),
    project: fc.constantFrom("research", "support"),
    events: fc.array(
      fc.record({
        at: fc.integer({ min: 0, max: 20 }),
        status: fc.constantFrom<FineTuneStatus>(...FINE_TUNE_STATUSES),
        knows: fc.record({
          model: fc.boolean(),
          ftModel: fc.boolean(),
          tokens: fc.boolean(),
          created: fc.boolean(),
          finished: fc.boolean(),
          // snapshots recorded before projects were carry none
          project: fc.boolean(),
        }),
      }),
      { minLength: 1, maxLength: opts.maxPerJob },
    ),
  });
  return fc.array(job, { minLength: opts.minJobs ?? 1, maxLength: opts.jobs }).chain((jobs) => {
    const all = jobs.flatMap((j, ji) =>
      j.events.map((e, ei) => ({
        event_id: `evt_${ji}_${ei}`,
        event_type: `fine_tuning.job.${e.status}`,
        event_created_at: j.createdAt + e.at,
        source: "api" as const,
        job: {
          id: `ftjob-${ji}`,
          status: e.status,
          model: e.knows.model ? j.model : null,
          fine_tuned_model: e.knows.ftModel ? j.ftModel : null,
          trained_tokens: e.knows.tokens ? j.tokens : null,
          error: null,
          created_at: e.knows.created ? j.createdAt : null,
          finished_at: e.knows.finished ? j.createdAt + 30 : null,
        },
        ...(e.knows.project ? { project: j.project } : {}),
      })),
    );
    // the stream's order: any interleaving of the jobs' events
    return fc
      .shuffledSubarray(all, { minLength: all.length, maxLength: all.length })
      .map((ordered) => ordered.map((snapshot, i): SequencedSnapshot => ({ snapshot, seq: i + 1 })));
  });
}

/** The same snapshots in another order, some of them twice (redeliveries, re-publishes). */
export function reorderedWithDuplicates(stream: SequencedSnapshot[]) {
  return fc
    .tuple(
      fc.shuffledSubarray(stream, { minLength: stream.length, maxLength: stream.length }),
      fc.array(fc.nat({ max: Math.max(0, stream.length - 1) }), { maxLength: stream.length }),
    )
    .chain(([shuffled, dupIdx]) => {
      const withDups = [...shuffled, ...dupIdx.map((i) => stream[i]!)];
      return fc.shuffledSubarray(withDups, { minLength: withDups.length, maxLength: withDups.length });
    });
}
