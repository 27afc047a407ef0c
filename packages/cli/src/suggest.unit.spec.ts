import { describe, expect, it } from "vitest";
import { closest, didYouMean, editDistance } from "./suggest";

describe("did you mean", () => {
  it("counts a swap of neighbours as one edit", () => {
    expect(editDistance("evnets", "events")).toBe(1);
    expect(editDistance("", "abc")).toBe(3);
  });

  it("suggests the nearest name within a third of the word's length", () => {
    expect(closest("fine_tuning.job.succeded", ["fine_tuning.job.succeeded", "batch.failed"])).toBe(
      "fine_tuning.job.succeeded",
    );
    expect(closest("stat", ["stats", "send"])).toBe("stats");
    expect(closest("zzzzzz", ["stats", "send"])).toBeUndefined();
  });

  it("says nothing when nothing is near", () => {
    expect(didYouMean("qqq", ["events"])).toBe("");
    expect(didYouMean("evnts", ["events"])).toBe(' Did you mean "events"?');
  });
});
