import { describe, expect, it } from "vitest";
import { type EventFacts, globToRegExp, matchesFilter, readPointer } from "./matchFilter";

const facts = (over: Partial<EventFacts> = {}): EventFacts => ({
  eventId: "evt_1",
  eventType: "batch.completed",
  provider: "openai",
  handler: "batch",
  ...over,
});

describe("matchesFilter", () => {
  it("takes everything with an empty filter", () => {
    expect(matchesFilter({}, facts(), () => null)).toBe(true);
  });

  it("matches types by glob: any glob may match, * is any run of characters", () => {
    expect(matchesFilter({ types: ["batch.*"] }, facts(), () => null)).toBe(true);
    expect(matchesFilter({ types: ["*.failed", "fine_tuning.job.failed"] }, facts(), () => null)).toBe(false);
    expect(matchesFilter({ types: ["*.completed"] }, facts(), () => null)).toBe(true);
    // a dot is a dot, not any character
    expect(globToRegExp("batch.completed").test("batchXcompleted")).toBe(false);
  });

  it("filters providers and handlers; a raw event has no handler", () => {
    expect(matchesFilter({ providers: ["acme"] }, facts(), () => null)).toBe(false);
    expect(matchesFilter({ providers: ["acme"] }, facts({ provider: "acme" }), () => null)).toBe(true);
    expect(matchesFilter({ handlers: ["batch"] }, facts(), () => null)).toBe(true);
    expect(matchesFilter({ handlers: ["response"] }, facts(), () => null)).toBe(false);
    expect(matchesFilter({ handlers: ["batch"] }, facts({ handler: null }), () => null)).toBe(false);
  });

  it("holds every JSON-pointer equality of match, and reads the body only then", () => {
    const body = { status: "failed", data: { id: "b_1", "a/b": 1, list: [true] } };
    let reads = 0;
    const read = () => {
      reads++;
      return body;
    };
    expect(matchesFilter({ types: ["batch.*"] }, facts(), read)).toBe(true);
    expect(reads).toBe(0);
    expect(matchesFilter({ match: { "/status": "failed", "/data/id": "b_1" } }, facts(), read)).toBe(true);
    expect(matchesFilter({ match: { "/status": "failed", "/data/id": "b_2" } }, facts(), read)).toBe(false);
    expect(matchesFilter({ match: { "/missing": null } }, facts(), read)).toBe(false);
    expect(readPointer(body, "/data/a~1b")).toBe(1);
    expect(readPointer(body, "/data/list/0")).toBe(true);
    expect(readPointer(body, "/data/list/01")).toBeUndefined();
    expect(readPointer(body, "")).toBe(body);
  });
});
