import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { openaiProjectsVar, projectKey, projectsOf } from "./openaiProjects";
import { ConfigError, parseConfig } from "./parseConfig";

const Schema = z.object({ OPENAI_PROJECTS: openaiProjectsVar() });
const SECRET_A = `whsec_${Buffer.from("alpha-project-secret-0123456789").toString("base64")}`;
const SECRET_B = `whsec_${Buffer.from("beta-project-secret-01234567890").toString("base64")}`;

function problemsOf(raw: string): string[] {
  try {
    parseConfig(Schema, { OPENAI_PROJECTS: raw });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error("the list was accepted");
}

const dir = mkdtempSync(join(tmpdir(), "hs-projects-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("OPENAI_PROJECTS", () => {
  it("takes a JSON list of projects, or @file", () => {
    const list = [
      { name: "research", secrets: [SECRET_A], apiKeyEnv: "OPENAI_API_KEY_RESEARCH" },
      {
        name: "support",
        secrets: [SECRET_B],
        apiKeyFile: "/run/secrets/support",
        baseUrl: "http://127.0.0.1:9/v1",
      },
    ];
    expect(parseConfig(Schema, { OPENAI_PROJECTS: JSON.stringify(list) }).OPENAI_PROJECTS).toEqual(list);
    const file = join(dir, "projects.json");
    writeFileSync(file, JSON.stringify(list));
    expect(parseConfig(Schema, { OPENAI_PROJECTS: `@${file}` }).OPENAI_PROJECTS).toEqual(list);
  });

  it("is the project default of OPENAI_WEBHOOK_SECRET and OPENAI_API_KEY when unset", () => {
    const config = parseConfig(Schema, {});
    expect(config.OPENAI_PROJECTS).toBeUndefined();
    const [only, ...rest] = projectsOf({
      ...config,
      OPENAI_WEBHOOK_SECRET: `${SECRET_A}, ${SECRET_B}`,
      OPENAI_API_KEY: "sk-default",
    });
    expect(rest).toEqual([]);
    expect(only).toMatchObject({ name: "default", secrets: [SECRET_A, SECRET_B] });
    expect(projectKey(only!, {})).toEqual({ key: "sk-default", reason: null });
    expect(projectKey(projectsOf({ OPENAI_WEBHOOK_SECRET: SECRET_A })[0]!, { OPENAI_API_KEY: "x" })).toEqual({
      key: null,
      reason: "project default has no API key (OPENAI_API_KEY is not set)",
    });
  });

  it("names every problem with the entry and the field, and never prints a secret", () => {
    const problems = problemsOf(
      JSON.stringify([
        { name: "research", secrets: [SECRET_A], apiKeyEnv: "OPENAI_API_KEY_RESEARCH" },
        { name: "research", secrets: [SECRET_B] },
        { name: "support", secrets: [SECRET_A], apiKeyEnv: "KEY", apiKeyFile: "/k" },
        { name: SECRET_B, secrets: [] },
        { name: "ops", secrets: [SECRET_B, ""], apiKey: SECRET_A, baseUrl: "not a url" },
        { name: "short", secrets: [`whsec_${Buffer.from("tiny").toString("base64")}`] },
      ]),
    );
    const text = problems.join("\n");
    expect(text).toMatch(/OPENAI_PROJECTS: \[1\] "research" name: "research" appears twice/);
    expect(text).toMatch(
      /OPENAI_PROJECTS: \[2\] "support" secrets\[0\]: the same secret as "research" secrets\[0\]/,
    );
    expect(text).toMatch(
      /OPENAI_PROJECTS: \[2\] "support" apiKeyFile: give apiKeyEnv or apiKeyFile, not both/,
    );
    expect(text).toMatch(/OPENAI_PROJECTS: \[3\] name: lowercase letters/);
    expect(text).toMatch(/OPENAI_PROJECTS: \[3\] secrets: at least one secret/);
    expect(text).toMatch(/OPENAI_PROJECTS: \[4\] "ops" secrets\[1\]: an empty secret/);
    expect(text).toMatch(/OPENAI_PROJECTS: \[4\] "ops": .*\(apiKey\)/);
    expect(text).toMatch(/OPENAI_PROJECTS: \[4\] "ops" baseUrl: must be a URL/);
    expect(text).toMatch(/OPENAI_PROJECTS: \[5\] "short" secrets\[0\]: decodes to 4 bytes; at least 24/);
    for (const secret of [SECRET_A, SECRET_B, SECRET_A.slice(6), SECRET_B.slice(6)])
      expect(text).not.toContain(secret);
  });

  it("says where broken JSON breaks without quoting it, and when the file is missing", () => {
    const [broken] = problemsOf(`[{"name":"research","secrets":["${SECRET_A}"] oops}]`);
    expect(broken).toMatch(/^OPENAI_PROJECTS: not JSON \(.*\): broken at character \d+$/);
    expect(broken).not.toContain(SECRET_A.slice(6, 20));
    expect(problemsOf("[]")[0]).toMatch(/at least one project/);
    expect(problemsOf(`@${join(dir, "missing.json")}`)[0]).toMatch(/cannot read .*missing\.json: ENOENT/);
  });

  it("reads a project's key from its variable or its file; none is a reason, not an error", () => {
    const file = join(dir, "key");
    writeFileSync(file, "sk-from-file\n");
    const base = { name: "p", secrets: [SECRET_A] };
    expect(projectKey({ ...base, apiKeyEnv: "K" }, { K: " sk-env " })).toEqual({
      key: "sk-env",
      reason: null,
    });
    expect(projectKey({ ...base, apiKeyEnv: "K" }, {})).toEqual({
      key: null,
      reason: "project p has no API key (K is not set)",
    });
    expect(projectKey({ ...base, apiKeyFile: file }, {})).toEqual({ key: "sk-from-file", reason: null });
    expect(projectKey({ ...base, apiKeyFile: join(dir, "nope") }, {}).reason).toMatch(
      /cannot read .*nope: ENOENT/,
    );
    expect(projectKey(base, {}).reason).toMatch(/names no apiKeyEnv or apiKeyFile/);
  });
});
