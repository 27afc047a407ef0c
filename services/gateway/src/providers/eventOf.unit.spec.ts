import { OpenAIEvent } from "@hookstream/contracts";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { validOpenAIEvent } from "./eventOf";

const base = {
  id: "evt_1",
  object: "event",
  created_at: 1_700_000_000,
  type: "batch.completed",
  data: { id: "b" },
};

describe("the hand-written OpenAI envelope check", () => {
  it("agrees with the zod schema on valid and broken bodies", () => {
    const cases: unknown[] = [
      base,
      { ...base, object: undefined },
      { ...base, id: "" },
      { ...base, id: "x".repeat(257) },
      { ...base, id: 7 },
      { ...base, type: "batch..completed" },
      { ...base, type: "batch completed" },
      { ...base, type: "" },
      { ...base, created_at: -1 },
      { ...base, created_at: 1.5 },
      { ...base, created_at: "1700000000" },
      { ...base, data: null },
      { ...base, data: [] },
      { ...base, data: "x" },
      { ...base, object: 3 },
      { ...base, extra: { nested: true } },
      [],
      null,
      "evt",
    ];
    for (const c of cases)
      expect(validOpenAIEvent(c), JSON.stringify(c)).toBe(OpenAIEvent.safeParse(c).success);
  });

  it("agrees with the zod schema on generated bodies (property)", () => {
    const field = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.double(),
      fc.constant(null),
      fc.object(),
      fc.array(fc.nat()),
    );
    fc.assert(
      fc.property(
        fc.record(
          {
            id: fc.oneof(fc.string({ maxLength: 300 }), field),
            type: fc.oneof(fc.stringMatching(/^[a-z_.-]{0,12}$/), field),
            created_at: fc.oneof(fc.integer({ min: -5, max: 2_000_000_000 }), fc.constant(2 ** 53), field),
            data: fc.oneof(fc.object(), field),
            object: fc.oneof(fc.constant("event"), field),
          },
          { requiredKeys: [] },
        ),
        (body) => validOpenAIEvent(body) === OpenAIEvent.safeParse(body).success,
      ),
      { numRuns: 5_000 },
    );
  });
});
