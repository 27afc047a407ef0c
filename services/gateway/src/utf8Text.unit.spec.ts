import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { utf8Text } from "./app";

const decoder = new TextDecoder("utf-8", { fatal: true });
const viaDecoder = (b: Buffer) => {
  try {
    return decoder.decode(b);
  } catch (err) {
    return err instanceof Error ? `throws: ${err.message}` : "throws";
  }
};
const viaUtf8Text = (b: Buffer) => {
  try {
    return utf8Text(b);
  } catch (err) {
    return err instanceof Error ? `throws: ${err.message}` : "throws";
  }
};

describe("utf8Text, the body's text", () => {
  it("is what a fatal TextDecoder gives, refusals and byte order marks included (property)", () => {
    const BOM = [0xef, 0xbb, 0xbf];
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.string({ unit: "binary", maxLength: 20 }).map((s) => new TextEncoder().encode(s)),
    );
    fc.assert(
      fc.property(bytes, fc.boolean(), (raw, bom) => {
        const b = Buffer.from(bom ? [...BOM, ...raw] : [...raw]);
        expect(viaUtf8Text(b)).toBe(viaDecoder(b));
      }),
      { numRuns: 5_000 },
    );
  });
});
