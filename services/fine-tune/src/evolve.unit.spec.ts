import type { FineTuneStatus, JobSnapshot } from "@hookstream/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { reorderedWithDuplicates, snapshotStream } from "../testing/snapshotStream";
import { evolve, foldAll, type JobState, merge } from "./evolve";

function snap(
  eventId: string,
  at: number,
  status: FineTuneStatus,
  job: Partial<JobSnapshot["job"]> = {},
): JobSnapshot {
  return {
    event_id: eventId,
    event_type: `fine_tuning.job.${status}`,
    event_created_at: at,
    source: "api",
    job: {
      id: "ftjob-1",
      status,
      model: null,
      fine_tuned_model: null,
      trained_tokens: null,
      error: null,
      created_at: null,
      finished_at: null,
      ...job,
    },
  };
}

function fold(...items: Array<[JobSnapshot, number]>): JobState | null {
  return items.reduce<JobState | null>((job, [snapshot, seq]) => evolve(job, { snapshot, seq }), null);
}

describe("evolve", () => {
  it("never replaces a terminal status by a non-terminal one, even a newer one", () => {
    const job = fold([snap("e1", 100, "succeeded"), 1], [snap("e2", 200, "running"), 2]);
    expect(job?.status).toBe("succeeded");
    expect(job?.lastEventId).toBe("e2");
  });

  it("lets a newer snapshot win over an older one, by event time then stream sequence", () => {
    expect(fold([snap("e2", 200, "running"), 1], [snap("e1", 100, "queued"), 2])?.status).toBe("running");
    expect(fold([snap("e1", 100, "queued"), 2], [snap("e2", 100, "running"), 1])?.status).toBe("queued");
  });

  it("fills fields known only later and never blanks them", () => {
    const job = fold(
      [snap("e1", 100, "running", { model: "gpt-4o-mini" }), 1],
      [snap("e2", 200, "succeeded", { fine_tuned_model: "ft:x", trained_tokens: 10, finished_at: 250 }), 2],
      [snap("e3", 300, "succeeded", {}), 3],
    );
    expect(job).toMatchObject({
      model: "gpt-4o-mini",
      fineTunedModel: "ft:x",
      trainedTokens: 10,
      finishedAt: 250,
    });
  });

  it("changes nothing for a duplicate", () => {
    const once = fold(
      [snap("e1", 100, "running"), 1],
      [snap("e2", 200, "succeeded", { fine_tuned_model: "ft:y" }), 2],
    );
    const twice = evolve(once, { snapshot: snap("e1", 100, "running"), seq: 1 });
    expect(twice).toEqual(once);
  });

  it("ends in the in-order fold's rows for every order, with duplicates (property, 300 runs)", () => {
    fc.assert(
      fc.property(
        snapshotStream({ jobs: 4, maxPerJob: 6 }).chain((stream) =>
          fc.tuple(fc.constant(stream), reorderedWithDuplicates(stream)),
        ),
        ([stream, reordered]) => {
          expect(foldAll(reordered)).toEqual(foldAll(stream));
        },
      ),
      { numRuns: 300 },
    );
  });

  it("merges batch folds into the same state as applying snapshots one by one (property)", () => {
    fc.assert(
      fc.property(
        snapshotStream({ jobs: 1, maxPerJob: 8 }).chain((stream) =>
          fc.tuple(fc.constant(stream), fc.integer({ min: 0, max: stream.length })),
        ),
        ([stream, cut]) => {
          const a = foldAll(stream.slice(0, cut));
          const b = foldAll(stream.slice(cut));
          const whole = foldAll(stream);
          for (const [id, state] of whole) {
            const left = a.get(id);
            const right = b.get(id);
            const merged = left && right ? merge(left, right) : (left ?? right);
            expect(merged).toEqual(state);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
