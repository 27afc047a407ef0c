import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createTestDatabase,
  deleteStreams,
  freePort,
  TEST_SECRET,
  type TestDatabase,
  testTopology,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";

/**
 * The Dockerfile's runtime stage, replayed outside Docker (no daemon here): the
 * package files and the built dist/ folders, nothing else, in a fresh directory;
 * `npm ci --omit=dev` there; then compiled services started the way the image's
 * command starts them (`node services/<name>/dist/main.js`) must answer /readyz.
 * Keep the copy rules in step with the Dockerfile's `manifests` and `build` stages.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WORKSPACE_DIRS = ["packages", "services"];
const SERVICES = ["gateway", "audit"] as const;

const topology = testTopology("prodinstall");
const app = mkdtempSync(join(tmpdir(), "hs-prod-"));
let db: TestDatabase;
let nc: NatsConnection;
const children: ChildProcess[] = [];
const output: string[] = [];

function workspaces(): string[] {
  return WORKSPACE_DIRS.flatMap((top) => readdirSync(join(ROOT, top)).map((name) => join(top, name))).filter(
    (ws) => existsSync(join(ROOT, ws, "package.json")),
  );
}

/** `npm run build` at the root when a workspace's dist/ is missing (a fresh clone, CI). */
function ensureBuilt(): void {
  const unbuilt = workspaces().filter((ws) => {
    const pkg = JSON.parse(readFileSync(join(ROOT, ws, "package.json"), "utf8")) as {
      scripts?: Record<string, string>;
    };
    return pkg.scripts?.build !== undefined && !existsSync(join(ROOT, ws, "dist"));
  });
  if (unbuilt.length === 0) return;
  try {
    execFileSync("npm", ["run", "build"], {
      cwd: ROOT,
      stdio: "pipe",
      env: { ...process.env, NODE_OPTIONS: "" },
    });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    throw new Error(`npm run build failed:\n${e.stdout?.toString() ?? ""}\n${e.stderr?.toString() ?? ""}`);
  }
}

/** The Dockerfile's `manifests` stage, then its `COPY --from=build /out/` of every dist/ (and bin/). */
function layOutRuntime(): void {
  for (const f of ["package.json", "package-lock.json", ".npmrc"]) cpSync(join(ROOT, f), join(app, f));
  for (const ws of workspaces()) {
    mkdirSync(join(app, ws), { recursive: true });
    cpSync(join(ROOT, ws, "package.json"), join(app, ws, "package.json"));
    for (const out of ["dist", "bin"])
      if (existsSync(join(ROOT, ws, out)))
        cpSync(join(ROOT, ws, out), join(app, ws, out), { recursive: true });
  }
}

/** The runtime environment: no NODE_OPTIONS (vitest sets `--conditions=source`, which needs src/). */
function runtimeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const { NODE_OPTIONS: _omit, ...env } = process.env;
  return { ...env, NODE_ENV: "production", LOG_LEVEL: "warn", ...extra };
}

async function waitReady(port: number, child: ChildProcess, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`service exited with ${child.exitCode}:\n${output.join("")}`);
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return status;
    if (Date.now() > deadline) throw new Error(`no 200 from /readyz on ${port}:\n${output.join("")}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  ensureBuilt();
  layOutRuntime();
  // a temp dir shares no node_modules with /work/main, so no npm lock is needed
  execFileSync("npm", ["ci", "--omit=dev", "--no-audit", "--no-fund"], {
    cwd: app,
    stdio: "pipe",
    env: runtimeEnv({ NODE_ENV: "production" }),
  });
  db = await createTestDatabase(inject("databaseUrl"), "prodinstall");
  nc = await connect({ servers: inject("natsUrl").split(",") });
}, 180_000);

afterAll(async () => {
  for (const c of children) c.kill("SIGTERM");
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once("exit", r)) : null)),
  );
  if (nc) {
    await deleteStreams(await jetstreamManager(nc), topology);
    await nc.close();
  }
  await db?.drop();
  rmSync(app, { recursive: true, force: true });
});

describe("the production install (the Dockerfile's runtime stage)", () => {
  it("has no dev dependencies, no TypeScript sources and no tests", () => {
    expect(existsSync(join(app, "node_modules", "tsx"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "vitest"))).toBe(false);
    expect(existsSync(join(app, "node_modules", "fastify"))).toBe(true);
    const stray = workspaces().filter((ws) => existsSync(join(app, ws, "src")));
    expect(stray).toEqual([]);
  });

  it("starts the compiled gateway and audit, and both answer /readyz once the provisioning step ran", async () => {
    // production services only verify the streams: the one-shot step makes them
    const provisioned = execFileSync(
      process.execPath,
      [join("packages", "cli", "bin", "hookstream.js"), "provision"],
      {
        cwd: app,
        env: runtimeEnv({ HOOKSTREAM_NAMESPACE: topology.namespace, NATS_URL: inject("natsUrl") }),
        encoding: "utf8",
      },
    );
    expect(provisioned).toMatch(new RegExp(`${topology.streams.webhooks}\\s+created`));
    for (const service of SERVICES) {
      const port = await freePort();
      const child = spawn(process.execPath, [join("services", service, "dist", "main.js")], {
        cwd: app,
        env: runtimeEnv({
          HOOKSTREAM_NAMESPACE: topology.namespace,
          NATS_URL: inject("natsUrl"),
          DATABASE_URL: db.url,
          ADMIN_TOKEN: "production-install-test",
          // production refuses the development secret (docs/security.md)
          OPENAI_WEBHOOK_SECRET: TEST_SECRET,
          HTTP_HOST: "127.0.0.1",
          GATEWAY_HOST: "127.0.0.1",
          AUDIT_HOST: "127.0.0.1",
          [`${service.toUpperCase()}_PORT`]: String(port),
        }),
        stdio: ["ignore", "pipe", "pipe"],
      });
      child.stdout?.on("data", (d: Buffer) => output.push(d.toString()));
      child.stderr?.on("data", (d: Buffer) => output.push(d.toString()));
      children.push(child);
      expect(await waitReady(port, child)).toBe(200);
    }
  });
});
