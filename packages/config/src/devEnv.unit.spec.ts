import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DEV_ENV_FILE, findDevEnvFile, formatDevEnv, parseDevEnv } from "./devEnv";

const root = mkdtempSync(join(tmpdir(), "devenv-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the development env file", () => {
  it("reads back what it writes, quotes included, comments skipped", () => {
    const vars = { ADMIN_TOKEN: "dev_a'b", DATABASE_URL: "postgres://u@h:5432/db?x=1 2", EMPTY: "" };
    const text = formatDevEnv(vars, ["written by a test"]);
    expect(text.startsWith("# written by a test\n")).toBe(true);
    expect(parseDevEnv(text)).toEqual(vars);
    expect(parseDevEnv('A=plain\nB="double"\n  # note\nnot a line\n')).toEqual({ A: "plain", B: "double" });
  });

  it("refuses a value that would not fit on one line", () => {
    expect(() => formatDevEnv({ X: "a\nb" })).toThrow(/one line/);
  });

  it("is found from any folder below the project", () => {
    mkdirSync(join(root, ".hookstream"));
    writeFileSync(join(root, DEV_ENV_FILE), "A=1\n");
    mkdirSync(join(root, "packages", "cli"), { recursive: true });
    expect(findDevEnvFile(join(root, "packages", "cli"))).toBe(join(root, DEV_ENV_FILE));
    expect(findDevEnvFile(tmpdir())).toBeUndefined();
  });
});
