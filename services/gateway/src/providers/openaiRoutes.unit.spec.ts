import { ConfigError, parseConfig } from "@hookstream/config";
import { makeTopology } from "@hookstream/contracts";
import { describe, expect, it } from "vitest";
import { GatewayConfig } from "../config";
import { openaiRoutes } from "./providers";

const secret = (label: string) =>
  `whsec_${Buffer.from(`${label}-secret-0123456789abcdef`).toString("base64")}`;
const PROJECTS = [
  { name: "research", secrets: [secret("r1"), secret("r2")] },
  { name: "support", secrets: [secret("s1")] },
];

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig(GatewayConfig, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("OpenAI's routes with OPENAI_PROJECTS", () => {
  it("tries every project's keys on /webhooks/openai, each key knowing its project, and one project's on its pinned URL", () => {
    const config = parseConfig(GatewayConfig, { OPENAI_PROJECTS: JSON.stringify(PROJECTS) });
    const routes = openaiRoutes(config, makeTopology(""));
    expect(routes.all.keys).toHaveLength(3);
    expect(routes.all.keyProjects).toEqual(["research", "research", "support"]);
    expect([...routes.byProject.keys()]).toEqual(["research", "support"]);
    expect(routes.byProject.get("support")?.keys).toHaveLength(1);
    expect(routes.all.subjectPrefix).toBe("webhooks.openai.");
  });

  it("is the one project default of OPENAI_WEBHOOK_SECRET without it", () => {
    const config = parseConfig(GatewayConfig, { OPENAI_WEBHOOK_SECRET: `${secret("a")} ${secret("b")}` });
    const routes = openaiRoutes(config, makeTopology(""));
    expect(routes.all.keyProjects).toEqual(["default", "default"]);
    expect([...routes.byProject.keys()]).toEqual(["default"]);
  });

  it("in production, needs no OPENAI_WEBHOOK_SECRET beside OPENAI_PROJECTS, and refuses a weak project secret", () => {
    expect(problemsOf({ NODE_ENV: "production", OPENAI_PROJECTS: JSON.stringify(PROJECTS) })).toEqual([]);
    expect(problemsOf({ NODE_ENV: "production" }).join("\n")).toMatch(/OPENAI_WEBHOOK_SECRET/);
    const weak = `whsec_${Buffer.from("short").toString("base64")}`;
    const text = problemsOf({
      OPENAI_PROJECTS: JSON.stringify([{ name: "research", secrets: [weak] }]),
    }).join("\n");
    expect(text).toMatch(/OPENAI_PROJECTS: \[0\] "research" secrets\[0\]: decodes to 5 bytes/);
    expect(text).not.toContain(weak);
  });
});
