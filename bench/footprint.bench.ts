/**
 * Footprint: what a person notices when they run the system. With the build done
 * (`npm run build`), how long `npm start` takes until every service answers /readyz,
 * each service's RSS once idle, and how long the CLI takes to answer `--help`
 * (directly, and through `npx hookstream` as the README says).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVICE_NAMES, SERVICES } from "@hookstream/contracts";
import { createTestDatabase, deleteStreams, freePort, testTopology } from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { pinned } from "./lib/proc";
import type { GroupResult } from "./types";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const IDLE_MS = 30_000;
const STARTS = 3;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

/** pids of live processes whose environment holds `HOOKSTREAM_NAMESPACE=<ns>`, with their command lines */
function processesOf(namespace: string): Array<{ pid: number; cmd: string }> {
  const mark = `HOOKSTREAM_NAMESPACE=${namespace}`;
  const out: Array<{ pid: number; cmd: string }> = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, "latin1").split("\0").includes(mark)) continue;
      out.push({
        pid: Number(entry),
        cmd: readFileSync(`/proc/${entry}/cmdline`, "latin1").replaceAll("\0", " "),
      });
    } catch {
      // gone
    }
  }
  return out;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function allReady(ports: Record<string, number>): Promise<boolean> {
  for (const port of Object.values(ports)) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (!ok) return false;
  }
  return true;
}

interface Install {
  namespace: string;
  dbUrl: string;
}

/** One `npm start`: ms until every /readyz answers; optionally the idle RSS of each service. */
async function startOnce(
  install: Install,
  measureRss: boolean,
  extraEnv: NodeJS.ProcessEnv = {},
): Promise<{ readyMs: number; rss: Record<string, number> }> {
  const ports: Record<string, number> = {};
  for (const s of SERVICE_NAMES) ports[s] = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: "",
    NATS_URL,
    DATABASE_URL: install.dbUrl,
    HOOKSTREAM_NAMESPACE: install.namespace,
    LOG_LEVEL: "warn",
    ...Object.fromEntries(SERVICE_NAMES.map((s) => [SERVICES[s].portVar, String(ports[s])])),
    ...extraEnv,
  };
  const t0 = performance.now();
  // on every core, as a person runs it: the bench runner itself is pinned to the load core
  const [cmd, args] = pinned(null, "npm", ["start", "--silent"]);
  const child: ChildProcess = spawn(cmd, args, { cwd: ROOT, env, stdio: "ignore" });
  let readyMs = Number.NaN;
  const rss: Record<string, number> = {};
  try {
    const deadline = Date.now() + 60_000;
    while (!(await allReady(ports))) {
      if (Date.now() > deadline) throw new Error("npm start: not ready within 60 s");
      await new Promise((r) => setTimeout(r, 50));
    }
    readyMs = performance.now() - t0;
    if (measureRss) {
      await new Promise((r) => setTimeout(r, IDLE_MS));
      for (const p of processesOf(install.namespace)) {
        const service = SERVICE_NAMES.find((s) => p.cmd.includes(`services/${s}/dist/main.js`));
        if (service) rss[service] = rssMiB(p.pid);
      }
    }
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
    for (let i = 0; i < 100 && processesOf(install.namespace).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { readyMs, rss };
}

function timeCommand(cmd: string, args: string[], runs = 7): number[] {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    execFileSync(cmd, args, { cwd: ROOT, stdio: "ignore", env: { ...process.env, NODE_OPTIONS: "" } });
    times.push(performance.now() - t0);
  }
  return times;
}

export default async function run(): Promise<GroupResult> {
  execFileSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: "ignore" });
  // one install: the first start creates the database and runs every migration, the
  // next ones are what a developer sees every day
  const topology = testTopology("footprint");
  const db = await createTestDatabase(DATABASE_URL, "footprint");
  const install = { namespace: topology.namespace, dbUrl: db.url };
  const starts: number[] = [];
  let first = Number.NaN;
  let rss: Record<string, number> = {};
  let rssImage: Record<string, number> = {};
  try {
    first = (await startOnce(install, false)).readyMs;
    for (let i = 0; i < STARTS; i++) {
      const r = await startOnce(install, i === STARTS - 1);
      starts.push(r.readyMs);
      if (i === STARTS - 1) rss = r.rss;
    }
    // the same services with Node's defaults, as the image runs them
    rssImage = (await startOnce(install, true, { HOOKSTREAM_SERVICE_NODE_FLAGS: "" })).rss;
  } finally {
    const nc = await connect({ servers: NATS_URL });
    await deleteStreams(await jetstreamManager(nc), topology);
    await nc.close();
    await db.drop();
  }
  const helpDirect = timeCommand(process.execPath, ["packages/cli/bin/hookstream.js", "--help"]);
  const helpNpx = timeCommand("npx", ["hookstream", "--help"]);
  const nodeNoop = timeCommand(process.execPath, ["-e", "0"]);
  const ms = (xs: number[]) =>
    `${Math.round(median(xs))} ms (${Math.round(Math.min(...xs))}–${Math.round(Math.max(...xs))})`;
  return {
    sections: [
      {
        title: "Footprint: start time, idle memory, CLI",
        command: "npm run bench -- footprint",
        rows: [
          {
            measure: "`npm start` until every /readyz answers (build done)",
            value: ms(starts),
            target: "≤ 5 s",
          },
          {
            measure: "first `npm start` of an install (creates the database, runs every migration)",
            value: `${Math.round(first)} ms`,
            target: "",
          },
          ...SERVICE_NAMES.map((s) => ({
            measure: `${s} RSS after ${IDLE_MS / 1000} s idle (npm start; with the image's Node defaults)`,
            value: `${rss[s]?.toFixed(0) ?? "?"} MiB; ${rssImage[s]?.toFixed(0) ?? "?"} MiB`,
            target: "≤ 90 MiB",
          })),
          { measure: "`node packages/cli/bin/hookstream.js --help`", value: ms(helpDirect), target: "" },
          { measure: "`npx hookstream --help`", value: ms(helpNpx), target: "< 0.5 s" },
          { measure: "`node -e 0` (the floor of any Node command)", value: ms(nodeNoop), target: "" },
        ],
        notes: [
          `${STARTS} starts of \`npm start\` after a first one on a new database (same namespace and database, as a developer restarts it), median (min–max); RSS from /proc of each compiled service after the last start sat idle.`,
          "`npm start` runs the services with `--max-semi-space-size=1 --single-threaded` and MALLOC_ARENA_MAX=2 (scripts/serviceFlags.ts): six idle services on one machine stay small. The image and the Kubernetes config keep Node's defaults (a young generation sized for load), which the other groups measure; the second RSS figure of each service above is with those defaults. `NODE_OPTIONS` brings the small profile to the image for many mostly idle copies.",
        ],
      },
    ],
    results: {},
  };
}
