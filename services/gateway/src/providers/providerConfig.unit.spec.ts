import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, parseConfig } from "@hookstream/config";
import { afterAll, describe, expect, it } from "vitest";
import { GatewayConfig } from "../config";

const SECRET = `whsec_${Buffer.from("acme-secret-32-bytes-long-enough").toString("base64")}`;

function problemsOf(providers: string): string[] {
  try {
    parseConfig(GatewayConfig, { WEBHOOK_PROVIDERS: providers });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("the configuration was accepted");
}

const dir = mkdtempSync(join(tmpdir(), "hs-providers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("WEBHOOK_PROVIDERS", () => {
  it("takes a JSON list of providers, tolerance optional", () => {
    const config = parseConfig(GatewayConfig, {
      WEBHOOK_PROVIDERS: JSON.stringify([
        { name: "acme", secrets: [SECRET], envelope: "standard", toleranceSec: 60 },
        { name: "relay", secrets: ["plain-text-secret-of-32-characters"], envelope: "openai" },
      ]),
    });
    expect(config.WEBHOOK_PROVIDERS.map((p) => [p.name, p.envelope, p.toleranceSec])).toEqual([
      ["acme", "standard", 60],
      ["relay", "openai", undefined],
    ]);
  });

  it("is empty when unset: only openai", () => {
    expect(parseConfig(GatewayConfig, {}).WEBHOOK_PROVIDERS).toEqual([]);
  });

  it("reads @path/to/file.json", () => {
    const file = join(dir, "providers.json");
    writeFileSync(file, JSON.stringify([{ name: "acme", secrets: [SECRET], envelope: "standard" }]));
    expect(parseConfig(GatewayConfig, { WEBHOOK_PROVIDERS: `@${file}` }).WEBHOOK_PROVIDERS[0]?.name).toBe(
      "acme",
    );
  });

  it("names the entry and the field of every problem", () => {
    const problems = problemsOf(
      JSON.stringify([
        { name: "acme", secrets: [SECRET], envelope: "standard" },
        { name: "beta", secrets: [SECRET], envelope: "svix", toleranceSec: 0 },
        { name: "Bad Name", secrets: [], envelope: "standard", secret: "x" },
      ]),
    );
    const text = problems.join("\n");
    expect(text).toMatch(/WEBHOOK_PROVIDERS: \[1\] "beta" envelope: .*standard/);
    expect(text).toMatch(/WEBHOOK_PROVIDERS: \[1\] "beta" toleranceSec: /);
    expect(text).toMatch(/WEBHOOK_PROVIDERS: \[2\] "Bad Name" name: /);
    expect(text).toMatch(/WEBHOOK_PROVIDERS: \[2\] "Bad Name" secrets: at least one secret/);
    expect(text).toMatch(/WEBHOOK_PROVIDERS: \[2\] "Bad Name".*\(secret\)/);
  });

  it("refuses a duplicate name, the built-in openai, a non-base64 standard secret, and never echoes a secret", () => {
    const text = problemsOf(
      JSON.stringify([
        { name: "acme", secrets: [SECRET], envelope: "standard" },
        { name: "acme", secrets: [SECRET], envelope: "standard" },
        { name: "openai", secrets: [SECRET], envelope: "openai" },
        { name: "gamma", secrets: ["not base64!"], envelope: "standard" },
      ]),
    ).join("\n");
    expect(text).toMatch(/\[1\] "acme" name: "acme" appears twice/);
    expect(text).toMatch(/\[2\] "openai" name: .*OPENAI_WEBHOOK_SECRET/);
    expect(text).toMatch(/\[3\] "gamma" secrets\[0\]: must be base64/);
    expect(text).not.toContain("not base64!");
  });

  it("says when it is not JSON or the file is missing", () => {
    expect(problemsOf("[{name:")[0]).toMatch(/^WEBHOOK_PROVIDERS: not JSON/);
    expect(problemsOf(`@${join(dir, "missing.json")}`)[0]).toMatch(
      /^WEBHOOK_PROVIDERS: cannot read .*missing\.json/,
    );
  });
});
