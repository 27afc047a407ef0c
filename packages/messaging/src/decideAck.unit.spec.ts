import { describe, expect, it } from "vitest";
import { decideAck, nakDelayMs } from "./decideAck";
import { PermanentError, RetryableError } from "./errors";

const policy = { maxDeliver: 4, baseDelayMs: 1_000, maxDelayMs: 5_000, ackWaitMs: 30_000 };

describe("decideAck", () => {
  it("acks work that succeeded", () => {
    expect(decideAck(null, 1, policy)).toEqual({ kind: "ack" });
  });

  it("terms a permanent error at once, whatever the delivery count", () => {
    expect(decideAck(new PermanentError("404"), 1, policy)).toEqual({ kind: "term", reason: "permanent" });
  });

  it("naks a retryable error, and terms it on the last allowed delivery", () => {
    expect(decideAck(new RetryableError("500"), 3, policy, () => 0).kind).toBe("nak");
    expect(decideAck(new RetryableError("500"), 4, policy)).toEqual({ kind: "term", reason: "exhausted" });
  });

  it("treats an unknown error as retryable", () => {
    expect(decideAck(new Error("boom"), 1, policy, () => 0).kind).toBe("nak");
  });

  it("never exhausts when max deliveries is unlimited", () => {
    expect(decideAck(new Error("db down"), 10_000, { ...policy, maxDeliver: -1 }, () => 0).kind).toBe("nak");
  });

  it("waits at least a retryable error's retry-after", () => {
    expect(decideAck(new RetryableError("busy", { retryAfterMs: 20_000 }), 1, policy, () => 0)).toEqual({
      kind: "nak",
      delayMs: 20_000,
    });
  });
});

describe("nakDelayMs", () => {
  it("grows exponentially from the base with a quarter of jitter, up to the cap", () => {
    expect([1, 2, 3, 4, 5].map((n) => nakDelayMs(policy, n, () => 0))).toEqual([
      750, 1_500, 3_000, 3_750, 3_750,
    ]);
    expect([1, 2, 3, 4, 5].map((n) => nakDelayMs(policy, n, () => 1))).toEqual([
      1_000, 2_000, 4_000, 5_000, 5_000,
    ]);
  });

  it("never gives a shorter delay for a later delivery below the cap, whatever the jitter", () => {
    const uncapped = { ...policy, maxDelayMs: 1_000 * 2 ** 12 };
    for (let n = 1; n < 12; n++) {
      expect(nakDelayMs(uncapped, n + 1, () => 0)).toBeGreaterThanOrEqual(nakDelayMs(uncapped, n, () => 1));
    }
  });
});
