/**
 * Builds you can trust: turbo replays a cached typecheck or build when none of the
 * task's inputs changed, so an input left out (the console's `ui/`, a service's
 * `testing/` folder) lets a warm cache pass code that no longer typechecks, or serve
 * a stale console. Every file of a workspace must be an input of its typecheck and
 * build, and CI must not read a cache at all.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** what the project's .gitignore leaves out of a workspace (turbo's default inputs skip it too) */
const IGNORED = new Set(["node_modules", "dist", ".turbo", "coverage", ".tmp"]);

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (IGNORED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (!entry.name.endsWith(".log")) out.push(path);
  }
  return out;
}

interface DryTask {
  task: string;
  package: string;
  directory: string;
  inputs: Record<string, string>;
  dependencies: string[];
}

function dryRun(): DryTask[] {
  const dry = JSON.parse(
    execFileSync(join(ROOT, "node_modules", ".bin", "turbo"), ["run", "typecheck", "build", "--dry=json"], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: "1" },
      maxBuffer: 64 * 1024 * 1024,
    }),
  ) as { tasks: DryTask[] };
  return dry.tasks.filter((t) => t.package !== "//" && (t.task === "typecheck" || t.task === "build"));
}

/** The `@hookstream/*` workspaces a workspace's files import (sources, tests, testing/ and ui/ folders). */
function importedWorkspaces(dir: string, self: string): string[] {
  const found = new Set<string>();
  for (const file of filesUnder(dir)) {
    if (!/\.(ts|tsx|js|mjs)$/.test(file)) continue;
    for (const m of readFileSync(file, "utf8").matchAll(/(?:from|import\()\s*["'](@hookstream\/[\w-]+)/g))
      if (m[1] && m[1] !== self) found.add(m[1]);
  }
  return [...found].sort();
}

describe("turbo and CI", () => {
  const tasks = dryRun();

  it("makes every file of a workspace an input of its typecheck and build", () => {
    // every workspace under packages/ and services/, the console and the services with a testing/ folder among them
    expect(new Set(tasks.map((t) => t.directory))).toContain("packages/console");
    const missing: string[] = [];
    for (const t of tasks) {
      const dir = join(ROOT, t.directory);
      for (const file of filesUnder(dir)) {
        const rel = relative(dir, file);
        if (!(rel in t.inputs)) missing.push(`${t.package}#${t.task}: ${rel}`);
      }
      // the shared configuration every workspace reads
      for (const shared of ["../../tsconfig.base.json"])
        if (!(shared in t.inputs)) missing.push(`${t.package}#${t.task}: ${shared}`);
    }
    expect(missing).toEqual([]);
  });

  it("knows the graph: each workspace declares the workspaces it imports, and its tasks wait for theirs", () => {
    const undeclared: string[] = [];
    const unordered: string[] = [];
    for (const t of tasks) {
      const dir = join(ROOT, t.directory);
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        dependencies?: Record<string, string>;
        devDependencies?: Record<string, string>;
      };
      const declared = { ...pkg.dependencies, ...pkg.devDependencies };
      for (const dep of importedWorkspaces(dir, t.package)) {
        if (declared[dep] !== "*") undeclared.push(`${t.package} imports ${dep}`);
        // a change in contracts re-checks (and rebuilds) everything that uses it
        else if (!t.dependencies.includes(`${dep}#${t.task}`))
          unordered.push(`${t.package}#${t.task} → ${dep}`);
      }
    }
    expect(undeclared).toEqual([]);
    expect(unordered).toEqual([]);
    // the services, for one, see contracts
    expect(
      tasks.find((t) => t.package === "@hookstream/gateway" && t.task === "typecheck")?.dependencies,
    ).toContain("@hookstream/contracts#typecheck");
  });

  it("builds in CI without a cache, with the README's test command", () => {
    const ci = readFileSync(join(ROOT, ".ci", "run"), "utf8");
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    expect(ci).toMatch(/^export TURBO_FORCE=true$/m);
    // the command CI runs is the one the README gives
    expect(readme).toMatch(/`npm test`/);
    expect(ci).toMatch(/^npm test 2>&1/m);
    expect(ci.indexOf("TURBO_FORCE")).toBeLessThan(ci.indexOf("npm test 2>&1"));
  });
});
