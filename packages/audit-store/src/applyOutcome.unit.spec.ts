import type { Outcome, OutcomeStatus } from "@hookstream/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyOutcome, type OutcomeFields } from "./applyOutcome";

function outcome(status: OutcomeStatus, attempt: number, error: string | null = null, at = 1_000): Outcome {
  return {
    event_id: "evt_1",
    event_type: "batch.completed",
    handler: "batch",
    status,
    attempt,
    error,
    at: new Date(at).toISOString(),
    stream_seq: 1,
    replay: false,
  };
}

const fold = (outcomes: Outcome[], start: OutcomeFields | null = null) =>
  outcomes.reduce<OutcomeFields | null>((row, o) => applyOutcome(row, o).row, start);

describe("applyOutcome", () => {
  it("counts failed attempts: processed on attempt 3 after two failures gives retry_count 2", () => {
    const row = fold([
      outcome("failed", 1, "500"),
      outcome("failed", 2, "500 again"),
      outcome("processed", 3),
    ]);
    expect(row).toMatchObject({ status: "processed", retryCount: 2, errorMessage: "500 again" });
    expect(row?.processedAt?.toISOString()).toBe(new Date(1_000).toISOString());
  });

  it("gives retry_count 2 from the processed outcome alone when the failures are not seen yet", () => {
    expect(fold([outcome("processed", 3)])).toMatchObject({ status: "processed", retryCount: 2 });
  });

  it("never replaces a terminal status by failed", () => {
    for (const terminal of ["processed", "dead", "ignored"] as const) {
      const row = fold([
        outcome(terminal, 1, terminal === "dead" ? "404" : null),
        outcome("failed", 2, "late"),
      ]);
      expect(row?.status).toBe(terminal);
      expect(row?.retryCount).toBe(2);
    }
  });

  it("lets a later processed replace dead (a replay after a fix)", () => {
    const row = fold([outcome("dead", 1, "404 not found"), outcome("processed", 1, null, 5_000)]);
    expect(row).toMatchObject({ status: "processed", retryCount: 1, errorMessage: "404 not found" });
  });

  it("records the error of dead and of the latest failure only", () => {
    expect(fold([outcome("failed", 2, "second"), outcome("failed", 1, "first")])?.errorMessage).toBe(
      "second",
    );
    expect(fold([outcome("failed", 1, "x"), outcome("dead", 8, "gave up")])).toMatchObject({
      status: "dead",
      retryCount: 8,
      errorMessage: "gave up",
    });
  });

  it("reports a duplicate outcome as changing nothing", () => {
    const first = applyOutcome(null, outcome("failed", 1, "500"));
    expect(first.changed).toBe(true);
    const again = applyOutcome(first.row, outcome("failed", 1, "500"));
    expect(again).toEqual({ row: first.row, changed: false });
  });

  it("ends in the same status, retry_count and processed_at whatever the order or duplicates", () => {
    const arbOutcome = fc
      .record({
        status: fc.constantFrom<OutcomeStatus>("processed", "failed", "ignored", "dead"),
        attempt: fc.integer({ min: 1, max: 10 }),
        at: fc.integer({ min: 0, max: 100_000 }),
      })
      .map((o) =>
        outcome(o.status, o.attempt, o.status === "failed" || o.status === "dead" ? "e" : null, o.at),
      );
    fc.assert(
      fc.property(fc.array(arbOutcome, { minLength: 1, maxLength: 12 }), fc.integer(), (outcomes, seed) => {
        const shuffled = [...outcomes, ...outcomes.slice(0, 2)].sort(
          (a, b) => ((a.attempt * 31 + seed) % 7) - ((b.attempt * 31 + seed) % 7),
        );
        const a = fold(outcomes);
        const b = fold(shuffled);
        expect(b?.status).toBe(a?.status);
        expect(b?.retryCount).toBe(a?.retryCount);
        expect(b?.processedAt?.getTime()).toBe(a?.processedAt?.getTime());
      }),
      { numRuns: 300 },
    );
  });
});
