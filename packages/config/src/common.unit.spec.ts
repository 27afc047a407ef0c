import { describe, expect, it } from "vitest";
import { z } from "zod";
import { adminEnv, commonEnv } from "./common";
import { parseConfig } from "./parseConfig";
import { trustProxyVar } from "./trustProxy";

const admin = z.object(adminEnv);

function problems(schema: z.ZodType, env: Record<string, string>): string {
  try {
    parseConfig(schema, env);
    return "";
  } catch (err) {
    return (err as Error).message;
  }
}

describe("admin tokens", () => {
  it("takes labelled tokens of 16 characters or more", () => {
    const c = parseConfig(admin, { ADMIN_TOKEN: "a".repeat(16), ADMIN_TOKENS: "ops:0123456789abcdef" });
    expect(c.ADMIN_TOKENS).toEqual(["ops:0123456789abcdef"]);
  });

  it("names a malformed entry by position, never by its text", () => {
    const text = problems(admin, { ADMIN_TOKENS: "ops:0123456789abcdef, 0123456789secret-token" });
    expect(text).toContain("ADMIN_TOKENS: entry 2 must read label:token");
    expect(text).not.toContain("secret");
  });

  it("refuses short tokens in both variables, showing only the label", () => {
    const text = problems(admin, { ADMIN_TOKEN: "short", ADMIN_TOKENS: "ops:also-short" });
    expect(text).toMatch(/ADMIN_TOKEN: the token has 5 characters; at least 16/);
    expect(text).toMatch(/ADMIN_TOKENS: entry 1 \("ops"\): the token has 10 characters/);
    expect(text).not.toContain("also-short");
  });
});

describe("TRUST_PROXY", () => {
  const schema = z.object({ TRUST_PROXY: trustProxyVar() });
  const parse = (v: string | undefined) =>
    parseConfig(schema, v === undefined ? {} : { TRUST_PROXY: v }).TRUST_PROXY;

  it("trusts nobody by default", () => {
    expect(parse(undefined)).toBe(false);
    expect(parse("false")).toBe(false);
    expect(parse("0")).toBe(false);
  });

  it("takes a number of hops or addresses and CIDR ranges", () => {
    expect(parse("1")).toBe(1);
    expect(parse("10.0.0.0/8, 192.168.1.10 ::1 fd00::/8 loopback")).toEqual([
      "10.0.0.0/8",
      "192.168.1.10",
      "::1",
      "fd00::/8",
      "loopback",
    ]);
  });

  it("refuses true (every hop) and what is not an address", () => {
    expect(problems(schema, { TRUST_PROXY: "true" })).toMatch(
      /TRUST_PROXY: true would trust every X-Forwarded-For hop/,
    );
    expect(problems(schema, { TRUST_PROXY: "10.0.0.0/33, proxy.local" })).toMatch(
      /not a number of hops, an address or a CIDR range: "10.0.0.0\/33", "proxy.local"/,
    );
  });
});

describe("HTTP timeouts", () => {
  it("default to 30 s for a request and 120 s for an idle connection", () => {
    const c = parseConfig(z.object(commonEnv), {});
    expect(c.HTTP_REQUEST_TIMEOUT_MS).toBe(30_000);
    expect(c.HTTP_CONNECTION_TIMEOUT_MS).toBe(120_000);
  });
});
