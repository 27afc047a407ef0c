/**
 * Processes the benchmarks start: services as production runs them (their own
 * process, the compiled `dist/main.js` as the image runs it), servers of
 * bench/servers (through tsx), and load generators — pinned to a core with
 * `taskset` when the machine has two or more, so a server and its load generator
 * never take each other's core.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { buildSync } from "esbuild";
import { productionNodeFlags, SERVICE_ENV } from "../../scripts/serviceFlags";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CORES = os.cpus().length;
const hasTaskset = (() => {
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Core for servers and core for load generators (none when there is one core or no taskset). */
export const SERVER_CPU = CORES >= 2 && hasTaskset ? "0" : null;
export const LOAD_CPU = CORES >= 2 && hasTaskset ? "1" : null;

export const ALL_CPUS = `0-${CORES - 1}`;

/**
 * `cmd args` pinned to `cpu`, or allowed on every core when `cpu` is null (the bench
 * runner pins itself to the load core, and children inherit their parent's affinity).
 */
export function pinned(cpu: string | null, cmd: string, args: string[]): [string, string[]] {
  if (!hasTaskset || CORES < 2) return [cmd, args];
  return ["taskset", ["-c", cpu ?? ALL_CPUS, cmd, ...args]];
}

/** Pins this process (the bench runner: publishers, pollers, the open-loop sender) to the load core. */
export function pinSelfToLoadCore(): void {
  if (LOAD_CPU === null) return;
  execFileSync("taskset", ["-a", "-p", "-c", LOAD_CPU, String(process.pid)], { stdio: "ignore" });
}

export interface Proc {
  child: ChildProcess;
  output: string[];
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited */
  stop(): Promise<void>;
}

export function startNode(
  script: string,
  env: Record<string, string>,
  opts: { cpu?: string | null; nodeArgs?: string[] } = {},
): Proc {
  const [cmd, args] = pinned(opts.cpu ?? null, process.execPath, [
    ...(opts.nodeArgs ?? []),
    "--conditions=source",
    "--import",
    "tsx",
    script,
  ]);
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return procOf(child);
}

function procOf(child: ChildProcess): Proc {
  const output: string[] = [];
  const keep = (b: Buffer) => {
    for (const line of b.toString("utf8").split("\n")) if (line) output.push(line);
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    child,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A service of services/<name> as its own process, as production (the image) runs
 * it: the compiled `dist/main.js` (bench/run.ts builds first) with its production
 * flags (scripts/serviceFlags.ts: Node's defaults but for the audit's young generation).
 */
export function startService(name: string, env: Record<string, string>, cpu: string | null = null): Proc {
  // BENCH_SERVICE_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", to profile a service under load
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const [cmd, args] = pinned(cpu, process.execPath, [
    ...productionNodeFlags(name),
    ...nodeArgs,
    join(ROOT, "services", name, "dist", "main.js"),
  ]);
  const child = spawn(cmd, args, {
    cwd: ROOT,
    // NODE_OPTIONS of the runner (tsx, conditions) must not reach a compiled service
    env: { ...process.env, NODE_OPTIONS: "", ...SERVICE_ENV, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return procOf(child);
}

/**
 * A server of bench/servers compiled and run as the services are: one esbuild bundle
 * of its own files with every package external (scripts/build-workspace.mjs's
 * settings; `@hookstream/*` then load their built dist/), run as `node <file>.js`
 * with the services' environment (SERVICE_ENV, no NODE_OPTIONS) at LOG_LEVEL=info,
 * production's level. So the gateway and the reference it is measured against differ
 * only in their code.
 */
export function startCompiled(script: string, env: Record<string, string>, cpu: string | null = null): Proc {
  const out = join(ROOT, "bench", "servers", "dist", basename(script).replace(/\.ts$/, ".js"));
  buildSync({
    entryPoints: [script],
    outfile: out,
    bundle: true,
    packages: "external",
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    logLevel: "warning",
  });
  const nodeArgs = (process.env.BENCH_SERVICE_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const [cmd, args] = pinned(cpu, process.execPath, [...nodeArgs, out]);
  const child = spawn(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: "", ...SERVICE_ENV, LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return procOf(child);
}

/** Waits until GET url answers 2xx. */
export async function waitReady(url: string, proc: Proc, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.child.exitCode !== null)
      throw new Error(`exited before ready:\n${proc.output.slice(-20).join("\n")}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline)
      throw new Error(`not ready after ${timeoutMs} ms:\n${proc.output.slice(-20).join("\n")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Resident memory of a process in MiB (VmRSS). The pid may be taskset's: taskset
 * execs the program, so it is the program's.
 */
export function rssMiB(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

/** The pid of a server found by name (nats-server, postgres), for its memory. */
export function pidOf(name: string): number[] {
  try {
    return execFileSync("pgrep", ["-x", name], { encoding: "utf8" })
      .trim()
      .split("\n")
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** Load averages and the busiest processes, to say in BENCHMARKS.md how quiet the machine was. */
export function machineLoad(): string {
  const [one, five] = os.loadavg();
  return `load average ${one?.toFixed(2)} (1 min), ${five?.toFixed(2)} (5 min)`;
}

/** CPU time (user + system) a process has used, in ms (from /proc; 10 ms ticks). */
export function cpuMs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
    return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
  } catch {
    return Number.NaN;
  }
}

/**
 * Starts the next measurement from the same state as the others: the kernel's dirty
 * pages written out (`sync`). Without it a measurement could run while the one before
 * it (tens of MB of stream blocks) was still being written back. (A Postgres
 * CHECKPOINT before each step was tried and left out: it made each step begin with
 * full-page writes for every index page it touched, a worst case no steady write
 * load sees, and the drain's many small commits pay it more than one large INSERT.)
 */
export function settle(): void {
  try {
    execFileSync("sync", { stdio: "ignore" });
  } catch {
    // no sync(1): nothing to flush with
  }
}
