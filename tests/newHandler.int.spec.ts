/**
 * Adding a domain is its handler file and its catalog entry: in a throwaway copy of
 * the repository, `npm run new:handler -- eval --types 'eval.run.*'` writes the domain
 * (the handler's folder, the HANDLERS entry, the lockfile, the generated files), and
 * then typecheck, the generated-files check, the docs check and the manifest
 * validation all pass with no other change.
 *
 * The copy holds the repository's files (git's list: committed and new, not ignored)
 * and borrows node_modules entry by entry, except the workspaces' own links, which
 * point into the copy; the generator runs with --lockfile-only so it never writes into
 * the borrowed node_modules.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generatedFiles } from "../scripts/generate/index";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const NAME = "eval";
const FOLDER = `services/${NAME}-handler`;
const TMP = mkdtempSync(join(tmpdir(), "hs-newhandler-"));
const COPY = join(TMP, "repo");

/** The repository's files: committed or new, not ignored (what a clone plus the work in progress holds). */
function repositoryFiles(): string[] {
  const out = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  return out.split("\0").filter((f) => f && existsSync(join(ROOT, f)) && statSync(join(ROOT, f)).isFile());
}

function copyRepository(): void {
  for (const file of repositoryFiles()) {
    mkdirSync(dirname(join(COPY, file)), { recursive: true });
    cpSync(join(ROOT, file), join(COPY, file));
  }
  // node_modules: every package borrowed by a link, the workspaces linked to the copy's own folders
  const modules = join(COPY, "node_modules");
  mkdirSync(join(modules, "@hookstream"), { recursive: true });
  for (const entry of readdirSync(join(ROOT, "node_modules"))) {
    if (entry !== "@hookstream") symlinkSync(join(ROOT, "node_modules", entry), join(modules, entry));
  }
  for (const group of ["packages", "services"]) {
    for (const dir of readdirSync(join(COPY, group))) {
      const pkg = join(COPY, group, dir, "package.json");
      if (!existsSync(pkg)) continue;
      const name = (JSON.parse(readFileSync(pkg, "utf8")) as { name: string }).name;
      symlinkSync(join("..", "..", group, dir), join(modules, name));
    }
  }
}

/** Every file of the copy (not node_modules) with a hash of its content. */
function snapshot(): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === "node_modules" || entry.name === ".turbo" || entry.name === "dist") continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile())
        files.set(relative(COPY, path), createHash("sha1").update(readFileSync(path)).digest("hex"));
    }
  };
  walk(COPY);
  return files;
}

/** Runs a command in the copy; fails with its output. */
function inCopy(cmd: string, args: string[], timeoutMs = 600_000): string {
  const r = spawnSync(cmd, args, {
    cwd: COPY,
    encoding: "utf8",
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
    // the copy resolves its workspaces to their sources, as the repository's tests do
    env: {
      ...process.env,
      TURBO_TELEMETRY_DISABLED: "1",
      TURBO_FORCE: "true",
      NODE_OPTIONS: "--conditions=source",
    },
  });
  const output = `${r.stdout}${r.stderr}${r.error ? String(r.error) : ""}`;
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${output.slice(-6000)}`);
  return output;
}

let before: Map<string, string>;
let after: Map<string, string>;

beforeAll(() => {
  copyRepository();
  before = snapshot();
  inCopy("node", [
    join(COPY, "node_modules", "tsx", "dist", "cli.mjs"),
    "--conditions=source",
    "scripts/newHandler.ts",
    NAME,
    "--types",
    "eval.run.*",
    "--lockfile-only",
  ]);
  // what a real `npm install` does besides the lockfile: the workspace's link
  symlinkSync(join("..", "..", FOLDER), join(COPY, "node_modules", "@hookstream", `${NAME}-handler`));
  after = snapshot();
}, 300_000);

afterAll(() => rmSync(TMP, { recursive: true, force: true }));

describe("npm run new:handler -- eval --types 'eval.run.*'", () => {
  it("changes only the domain's folder and its catalog entry by hand; the rest is the lockfile and generated files", () => {
    const changed = [...after.keys()].filter((f) => before.get(f) !== after.get(f)).sort();
    const removed = [...before.keys()].filter((f) => !after.has(f));
    expect(removed).toEqual([]);
    const generated = new Set(generatedFiles(ROOT).map((f) => f.path));
    const byHand = changed.filter((f) => !generated.has(f) && f !== "package-lock.json");
    expect(byHand).toEqual([
      "packages/contracts/src/handlers.ts",
      `${FOLDER}/package.json`,
      `${FOLDER}/src/evalHandler.ts`,
      `${FOLDER}/src/index.ts`,
      `${FOLDER}/src/main.ts`,
      `${FOLDER}/tsconfig.json`,
    ]);
    // the catalog entry is one line
    const catalogDiff = readFileSync(join(COPY, "packages/contracts/src/handlers.ts"), "utf8")
      .split("\n")
      .filter(
        (l) =>
          !readFileSync(join(ROOT, "packages/contracts/src/handlers.ts"), "utf8").split("\n").includes(l),
      );
    expect(catalogDiff).toEqual([
      `  eval: { domain: "eval.run", defaultPort: ${portOf(catalogDiff[0])}, retry: DEFAULT_RETRY },`,
    ]);
    // the entrypoint is four lines
    expect(
      readFileSync(join(COPY, FOLDER, "src/main.ts"), "utf8")
        .trimEnd()
        .split("\n"),
    ).toHaveLength(4);
    // the lockfile knows the new workspace
    expect(readFileSync(join(COPY, "package-lock.json"), "utf8")).toContain(`"${FOLDER}": {`);
    // and the generated files name it: the NATS user, the Deployment, the migrate Job, compose, Prometheus
    expect(changed).toEqual(
      expect.arrayContaining([
        "deploy/nats/accounts.conf",
        "deploy/k8s/base/deployments.yaml",
        "deploy/k8s/base/migrate-job.yaml",
        "docker-compose.yml",
        "deploy/observability/prometheus.yml",
        "docs/architecture.md",
      ]),
    );
    expect(readFileSync(join(COPY, "deploy/nats/accounts.conf"), "utf8")).toContain(
      "$HOOKSTREAM_NATS_EVAL_PASSWORD",
    );
    expect(readFileSync(join(COPY, "deploy/k8s/base/migrate-job.yaml"), "utf8")).toMatch(
      /for s in [^;]*eval-handler/,
    );
  });

  it("typechecks: every workspace, the new one included, the tests, scripts and benchmarks", () => {
    // what `npm run typecheck` checks: the root tsconfig.json, one tsc program over every
    // workspace, test, script and benchmark (not one process per workspace, each reading the
    // same sources again), then the console's UI
    const tsc = join(COPY, "node_modules", "typescript", "bin", "tsc");
    const files = inCopy("node", [tsc, "-p", "tsconfig.json", "--noEmit", "--listFiles"]);
    expect(files).toContain(`${FOLDER}/src/main.ts`);
    // the console's UI has its own settings (JSX, DOM); it lists the handlers
    inCopy("node", [tsc, "-p", "packages/console/ui", "--noEmit"]);
  }, 900_000);

  it("passes the generated-files check, the docs check and the manifest validation", () => {
    inCopy("npm", ["run", "generate", "--", "--check"]);
    const out = inCopy("node", [
      join(COPY, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "tests/generated.spec.ts",
      "tests/docs.spec.ts",
      "tests/deploy/manifests.spec.ts",
    ]);
    expect(out).toMatch(/Test Files\s+.*3 passed/);
  }, 600_000);
});

function portOf(line: string | undefined): number {
  return Number(/defaultPort: (\d+)/.exec(line ?? "")?.[1]);
}
