import { DestinationRetry } from "@hookstream/contracts";
import { describe, expect, it } from "vitest";
import { decideRetry } from "./decideRetry";
import { partitionOf } from "./destinationWorker";

const retry = DestinationRetry.parse({ attempts: 4, backoffMs: [100, 1_000], maxAgeMs: 60_000 });
const mid = () => 0.5;

describe("decideRetry", () => {
  it("waits the schedule's delay for each attempt, the last entry repeating", () => {
    expect(decideRetry(retry, 1, 0, 0, mid)).toEqual({ kind: "retry", delayMs: 100 });
    expect(decideRetry(retry, 2, 0, 0, mid)).toEqual({ kind: "retry", delayMs: 1_000 });
    expect(decideRetry(retry, 3, 0, 0, mid)).toEqual({ kind: "retry", delayMs: 1_000 });
  });

  it("dead-letters once the attempts are spent or the event would be older than maxAgeMs", () => {
    expect(decideRetry(retry, 4, 0, 0, mid).kind).toBe("dead");
    expect(decideRetry(retry, 2, 0, 59_500, mid)).toMatchObject({ kind: "dead", reason: /maxAgeMs/ });
  });
});

describe("partitionOf", () => {
  it("is stable and spreads resources over the partitions", () => {
    expect(partitionOf("batch:b_1", 16)).toBe(partitionOf("batch:b_1", 16));
    const used = new Set(Array.from({ length: 200 }, (_, i) => partitionOf(`batch:b_${i}`, 16)));
    expect(used.size).toBe(16);
  });
});
