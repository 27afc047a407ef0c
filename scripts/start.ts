/**
 * `npm start`: builds (turbo, cached), then runs every service's compiled
 * `services/<x>/dist/main.js` as its own child process with the environment passed
 * through, so the documented defaults apply.
 *
 * - Nothing is restarted silently: a child that dies while the system is running is
 *   reported loudly and the others are stopped (exit 1). A supervisor (compose,
 *   Kubernetes) restarts things in production; locally, a silent restart hides bugs.
 * - SIGTERM / SIGINT: SIGTERM to every child, wait (bounded) for all of them,
 *   exit 0 when every child exited 0.
 * - Output: each child's lines as they come — raw pino JSON when stdout is not a
 *   terminal (pipe it to `pino-pretty` or `jq`), prefixed with the service name on a terminal.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVICES } from "@hookstream/contracts";
import { SERVICE_ENV, serviceNodeFlags } from "./serviceFlags";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";
const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hookstream";
/** the services' own bound (SHUTDOWN_TIMEOUT_MS, default 15 s) plus time to load and exit */
const EXTRA_STOP_MS = 5_000;

function say(message: string): void {
  process.stderr.write(`hookstream start: ${message}\n`);
}

/** The service's port from its catalog variable, else the catalog's default. */
function portOf(service: string, env: NodeJS.ProcessEnv): string {
  const spec = (SERVICES as Record<string, { portVar: string; defaultPort: number } | undefined>)[service];
  if (!spec) return "";
  return env[spec.portVar]?.trim() || String(spec.defaultPort);
}

/** Every folder under services/ that has a `src/main.ts`, in a stable order. */
function discoverServices(root = ROOT): string[] {
  const dir = join(root, "services");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, "src", "main.ts")))
    .map((d) => d.name)
    .sort();
}

/**
 * Connects and, when `greets` (NATS sends `INFO {...}` first), reads the first line.
 * Postgres says nothing until the client speaks: a connection is its answer.
 */
function probe(
  host: string,
  port: number,
  greets: boolean,
  timeoutMs = 2_000,
): Promise<{ ok: boolean; greeting: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let greeting = "";
    let connected = false;
    const done = (ok: boolean) => {
      socket.destroy();
      resolve({ ok, greeting });
    };
    socket.setTimeout(timeoutMs, () => done(connected));
    socket.once("connect", () => {
      connected = true;
      if (!greets) done(true);
    });
    socket.on("data", (chunk) => {
      greeting += chunk.toString("utf8");
      if (greeting.includes("\n")) done(true);
    });
    socket.once("error", () => done(false));
  });
}

/** Problems with NATS and Postgres, each with how to fix it; empty when both answer. */
async function checkPrerequisites(env: NodeJS.ProcessEnv): Promise<string[]> {
  const problems: string[] = [];
  const natsUrl = (env.NATS_URL?.trim() || DEFAULT_NATS_URL).split(/[\s,]+/)[0] ?? DEFAULT_NATS_URL;
  const nats = new URL(natsUrl.includes("://") ? natsUrl : `nats://${natsUrl}`);
  const natsAnswer = await probe(nats.hostname, Number(nats.port || 4222), true);
  if (!natsAnswer.ok) {
    problems.push(
      `NATS does not answer at ${nats.host}. Start it with JetStream:\n` +
        "    nats-server -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server   (or: docker compose up -d nats)\n" +
        "  or point NATS_URL at a running server.",
    );
  } else if (natsAnswer.greeting.startsWith("INFO") && !/"jetstream"\s*:\s*true/.test(natsAnswer.greeting)) {
    problems.push(`NATS at ${nats.host} runs without JetStream: restart it with -js (and -sd <dir>).`);
  }
  const db = new URL(env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL);
  if (!(await probe(db.hostname, Number(db.port || 5432), false)).ok) {
    problems.push(
      `Postgres does not answer at ${db.host}. Start it:\n` +
        "    sudo pg_ctlcluster 15 main start   (or: docker compose up -d postgres)\n" +
        "  or point DATABASE_URL at a running server (the database itself is created if missing).",
    );
  }
  return problems;
}

interface Child {
  service: string;
  process: ChildProcess;
  exit: Promise<number>;
  exitCode: number | null;
}

function startChild(service: string, env: NodeJS.ProcessEnv, prefix: boolean): Child {
  const main = join(ROOT, "services", service, "dist", "main.js");
  // node itself on the compiled service, no wrapper: a signal must reach the service. Detached:
  // Ctrl-C on a terminal reaches only this process, which then sends exactly one SIGTERM.
  // HOOKSTREAM_SUPERVISOR_PID: a service whose launcher vanished (SIGKILL) stops by itself.
  const child = spawn(process.execPath, [...serviceNodeFlags(env), main], {
    cwd: ROOT,
    env: { ...SERVICE_ENV, ...env, HOOKSTREAM_SUPERVISOR_PID: String(process.pid) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const label = `${service.padEnd(20)}| `;
  const pipeLines = (from: NodeJS.ReadableStream | null, to: NodeJS.WriteStream) => {
    let rest = "";
    from?.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) to.write(prefix ? `${label}${line}\n` : `${line}\n`);
    });
    from?.on("end", () => {
      if (rest) to.write(prefix ? `${label}${rest}\n` : `${rest}\n`);
    });
  };
  pipeLines(child.stdout, process.stdout);
  pipeLines(child.stderr, process.stderr);
  const entry: Child = {
    service,
    process: child,
    exitCode: null,
    exit: new Promise<number>((resolve) => {
      child.once("error", (err) => {
        say(`could not start ${service}: ${err.message}`);
        entry.exitCode = 1;
        resolve(1);
      });
      child.once("exit", (code, signal) => {
        // a signal death counts as failure: 128 + signal number, as a shell reports it
        const exitCode = code ?? 128 + (signal ? constants.signals[signal] : 0);
        entry.exitCode = exitCode;
        resolve(exitCode);
      });
    }),
  };
  return entry;
}

/**
 * GET /readyz on a connection of its own that is closed after the answer: a pooled
 * keep-alive connection would sit idle in each service and make its graceful close
 * wait for it.
 */
function isReady(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once("timeout", () => req.destroy());
    req.once("error", () => resolve(false));
  });
}

async function waitReady(children: Child[], env: NodeJS.ProcessEnv, stopping: () => boolean): Promise<void> {
  const urls = children.map((c) => {
    const port = portOf(c.service, env);
    return { service: c.service, url: port ? `http://127.0.0.1:${port}` : undefined };
  });
  const pending = new Set(urls.filter((u) => u.url).map((u) => u.service));
  const started = Date.now();
  let warned = false;
  while (pending.size > 0 && !stopping()) {
    for (const { service, url } of urls) {
      if (!pending.has(service)) continue;
      if (await isReady(`${url}/readyz`)) pending.delete(service);
    }
    if (!warned && Date.now() - started > 30_000 && pending.size > 0) {
      warned = true;
      say(`still not ready after 30 s: ${[...pending].join(", ")} (see their logs above)`);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 200));
  }
  if (!stopping()) {
    say(
      `ready: ${urls.map((u) => `${u.service} ${u.url ?? "(no port)"}`).join(", ")} — ` +
        "try `npx hookstream send fine_tuning.job.succeeded`",
    );
  }
}

async function main(): Promise<number> {
  const env = { ...process.env };
  const services = discoverServices();
  if (services.length === 0) {
    say("no service to start (no services/*/src/main.ts)");
    return 1;
  }
  const problems = await checkPrerequisites(env);
  if (problems.length > 0) {
    for (const p of problems) say(p);
    return 1;
  }

  const prefix = process.stdout.isTTY === true;
  say(`starting ${services.join(", ")}`);
  const children = services.map((s) => startChild(s, env, prefix));
  const shutdownBoundMs = Number(env.SHUTDOWN_TIMEOUT_MS || 15_000) + EXTRA_STOP_MS;

  let stopping = false;
  let failed = false;
  let resolveStop: () => void = () => {};
  const stopRequested = new Promise<void>((r) => {
    resolveStop = r;
  });
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    for (const c of children) if (c.exitCode === null) c.process.kill("SIGTERM");
    resolveStop();
  };

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) return;
      say(`${signal}: stopping every service (bound ${shutdownBoundMs} ms)`);
      stopAll();
    });
  }
  for (const c of children) {
    void c.exit.then((code) => {
      if (stopping) return;
      failed = true;
      say(`!!! ${c.service} exited unexpectedly with code ${code}; stopping the others !!!`);
      stopAll();
    });
  }

  // `kill -TERM <npm pid>` ends npm without passing the signal on, and this process is
  // re-parented: a changed parent is a stop request too (what `timeout`, systemd and
  // supervisors send goes to the pid they started).
  const parent = process.ppid;
  const orphanWatch = setInterval(() => {
    if (process.ppid !== parent && !stopping) {
      say("the parent process is gone: stopping every service");
      stopAll();
    }
  }, 250);
  orphanWatch.unref();

  void waitReady(children, env, () => stopping);
  await stopRequested;

  const all = Promise.all(children.map((c) => c.exit));
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    all.then(() => false),
    new Promise<boolean>((r) => {
      timer = setTimeout(() => r(true), shutdownBoundMs);
    }),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    const stuck = children.filter((c) => c.exitCode === null);
    say(`still running after ${shutdownBoundMs} ms, killing: ${stuck.map((c) => c.service).join(", ")}`);
    for (const c of stuck) c.process.kill("SIGKILL");
    await all;
    return 1;
  }
  const bad = children.filter((c) => c.exitCode !== 0);
  for (const c of bad) say(`${c.service} exited with code ${c.exitCode}`);
  if (!failed && bad.length === 0) say("every service stopped cleanly");
  return failed || bad.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exitCode = 1;
  },
);
