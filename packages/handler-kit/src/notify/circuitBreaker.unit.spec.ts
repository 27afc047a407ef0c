import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./circuitBreaker";

const URL_A = "https://hooks.example.com/a";
const URL_B = "https://hooks.example.com/b";

describe("CircuitBreaker", () => {
  it("stays closed below N consecutive failures and opens on the Nth for the first pause", () => {
    const b = new CircuitBreaker({ failures: 3, pauseMs: 1_000, maxPauseMs: 8_000 });
    expect(b.failure(URL_A, 0).opened).toBe(false);
    expect(b.failure(URL_A, 10).opened).toBe(false);
    expect(b.pausedUntil(URL_A, 20)).toBeNull();
    expect(b.failure(URL_A, 20)).toEqual({ opened: true, pausedUntil: 1_020, failures: 3 });
    expect(b.pausedUntil(URL_A, 1_019)).toBe(1_020);
    expect(b.pausedUntil(URL_A, 1_020)).toBeNull();
    // each destination on its own
    expect(b.pausedUntil(URL_B, 500)).toBeNull();
  });

  it("a success resets the count: failures must be consecutive", () => {
    const b = new CircuitBreaker({ failures: 2, pauseMs: 1_000, maxPauseMs: 8_000 });
    b.failure(URL_A, 0);
    expect(b.success(URL_A)).toBe(false);
    expect(b.failure(URL_A, 1).opened).toBe(false);
  });

  it("doubles the pause each time a trial after a pause fails, up to the cap", () => {
    const b = new CircuitBreaker({ failures: 1, pauseMs: 1_000, maxPauseMs: 3_000 });
    expect(b.failure(URL_A, 0).pausedUntil).toBe(1_000);
    expect(b.failure(URL_A, 1_000).pausedUntil).toBe(3_000); // 2 s
    expect(b.failure(URL_A, 3_000).pausedUntil).toBe(6_000); // 4 s, capped at 3 s
    expect(b.failure(URL_A, 6_000).pausedUntil).toBe(9_000);
  });

  it("a failure that started before the pause does not extend it", () => {
    const b = new CircuitBreaker({ failures: 1, pauseMs: 1_000, maxPauseMs: 8_000 });
    b.failure(URL_A, 0);
    expect(b.failure(URL_A, 500)).toEqual({ opened: false, pausedUntil: 1_000, failures: 2 });
  });

  it("a success after a pause closes it and forgets the history", () => {
    const b = new CircuitBreaker({ failures: 1, pauseMs: 1_000, maxPauseMs: 8_000 });
    b.failure(URL_A, 0);
    b.failure(URL_A, 1_000);
    expect(b.success(URL_A)).toBe(true);
    expect(b.pausedUntil(URL_A, 1_001)).toBeNull();
    expect(b.failure(URL_A, 5_000).pausedUntil).toBe(6_000); // back to the first pause
  });
});
