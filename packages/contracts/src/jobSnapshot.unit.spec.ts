import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FINE_TUNE_STATUSES, isJobSnapshot, JobSnapshot } from "./jobSnapshot";

const job = {
  id: "ftjob-1",
  status: "running",
  model: "gpt-4o-mini",
  fine_tuned_model: null,
  trained_tokens: null,
  error: null,
  created_at: 1_750_000_000,
  finished_at: null,
};
const base = {
  event_id: "evt_1",
  event_type: "fine_tuning.job.running",
  event_created_at: 1,
  source: "api",
  job,
};

describe("isJobSnapshot, the hand-written JobSnapshot check", () => {
  it("agrees with the zod schema on valid and broken snapshots", () => {
    const cases: unknown[] = [
      base,
      { ...base, extra: 1 },
      { ...base, event_id: "" },
      { ...base, event_type: 3 },
      { ...base, event_created_at: 1.5 },
      { ...base, event_created_at: 2 ** 53 },
      { ...base, event_created_at: -0 },
      { ...base, source: "cli" },
      { ...base, job: null },
      { ...base, job: [] },
      { ...base, job: { ...job, id: "" } },
      { ...base, job: { ...job, status: "toString" } },
      { ...base, job: { ...job, status: "succeeded", fine_tuned_model: "ft:x", trained_tokens: 12 } },
      { ...base, job: { ...job, model: undefined } },
      { ...base, job: { ...job, trained_tokens: "12" } },
      { ...base, job: { ...job, error: { code: "x" } } },
      { ...base, job: { ...job, error: undefined } },
      { ...base, job: (({ error: _, ...rest }) => rest)(job) },
      { ...base, job: { ...job, created_at: null, finished_at: 1.25 } },
      [],
      null,
      "snapshot",
    ];
    for (const c of cases) expect(isJobSnapshot(c), JSON.stringify(c)).toBe(JobSnapshot.safeParse(c).success);
  });

  it("agrees with the zod schema on generated snapshots (property)", () => {
    const any = fc.oneof(
      fc.string({ maxLength: 3 }),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.constant(undefined),
      fc.object({ maxDepth: 1 }),
      fc.array(fc.nat(), { maxLength: 2 }),
    );
    // the well-typed values nine times in ten, anything else the tenth
    const mostly = (...typed: fc.Arbitrary<unknown>[]) =>
      fc.oneof({ arbitrary: fc.oneof(...typed), weight: 9 }, { arbitrary: any, weight: 1 });
    const text = fc.string({ maxLength: 4 });
    const int = fc.oneof(fc.integer(), fc.constant(2 ** 53), fc.double());
    const jobFields = {
      id: mostly(text),
      status: mostly(fc.constantFrom(...FINE_TUNE_STATUSES, "paused")),
      model: mostly(text, fc.constant(null)),
      fine_tuned_model: mostly(text, fc.constant(null)),
      trained_tokens: mostly(int, fc.constant(null)),
      error: any,
      created_at: mostly(int, fc.constant(null)),
      finished_at: mostly(int, fc.constant(null)),
    };
    // complete records often (so that many pass), records with keys missing too
    const jobArb = fc.oneof(fc.record(jobFields), fc.record(jobFields, { requiredKeys: [] }));
    const fields = {
      event_id: mostly(text),
      event_type: mostly(text),
      event_created_at: mostly(int),
      source: mostly(fc.constantFrom("api", "webhook", "cli")),
      job: mostly(jobArb),
    };
    let valid = 0;
    fc.assert(
      fc.property(fc.oneof(fc.record(fields), fc.record(fields, { requiredKeys: [] })), (snapshot) => {
        const ok = JobSnapshot.safeParse(snapshot).success;
        if (ok) valid++;
        return isJobSnapshot(snapshot) === ok;
      }),
      { numRuns: 20_000 },
    );
    // the property saw passing snapshots too, not only broken ones
    expect(valid).toBeGreaterThan(20);
  });
});
