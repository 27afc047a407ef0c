import { describe, expect, it } from "vitest";
import { parseSince } from "./since";

describe("parseSince", () => {
  it("accepts ISO-8601 times and durations back from now", () => {
    const nowMs = Date.parse("2026-01-02T00:00:00Z");
    expect(parseSince("2026-01-01T00:00:00Z", nowMs)?.toISOString()).toBe("2026-01-01T00:00:00.000Z");
    expect(parseSince("2h", nowMs)?.toISOString()).toBe("2026-01-01T22:00:00.000Z");
    expect(parseSince("yesterday", nowMs)).toBeNull();
  });
});
