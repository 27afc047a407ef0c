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
 * - Output: each child's pino JSON lines as they come when stdout is not a terminal
 *   (pipe them to `jq`); on a terminal one readable line per record, with the start and
 *   stop chatter folded into one line per service (warnings and errors always shown).
 *   LOG_FORMAT=json|pretty overrides the choice.
 * - Before anything starts, every service's port must be free (a second `npm start`
 *   stops at once, naming the port).
 * - Outside production it makes the development defaults: an admin token when none is
 *   set, every service told every other's URL, and `.hookstream/dev.env` for the CLI
 *   (docs/configuration.md, "Development defaults").
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEV_ENV_FILE, formatDevEnv, readDevEnv } from "@hookstream/config";
import { SERVICES, serviceUrls } from "@hookstream/contracts";
import { type LogFormat, logFormat } from "@hookstream/observability";
import { SERVICE_ENV, serviceNodeFlags } from "./serviceFlags";
import { shownLine } from "./startOutput";
import { localUrl, portProblems, type ServicePort, servicePorts } from "./startPorts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";
const DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hookstream";
/** the services' own bound (SHUTDOWN_TIMEOUT_MS, default 15 s) plus time to load and exit */
const EXTRA_STOP_MS = 5_000;

function say(message: string): void {
  process.stderr.write(`hookstream start: ${message}\n`);
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

/** `hookstream provision` with the environment every service gets; its exit code. */
function provisionStreams(env: NodeJS.ProcessEnv): number {
  const cli = join(ROOT, "packages", "cli", "bin", "hookstream.js");
  const run = spawnSync(process.execPath, [cli, "provision"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "inherit"],
    encoding: "utf8",
  });
  for (const line of (run.stdout ?? "").split("\n").filter(Boolean)) say(`provision: ${line}`);
  return run.status ?? 1;
}

interface Child {
  service: string;
  process: ChildProcess;
  exit: Promise<number>;
  exitCode: number | null;
  /** answered /readyz once: from then on its info lines show (pretty format) */
  ready: boolean;
}

function startChild(
  service: string,
  env: NodeJS.ProcessEnv,
  format: LogFormat,
  stopping: () => boolean,
): Child {
  const main = join(ROOT, "services", service, "dist", "main.js");
  // node itself on the compiled service, no wrapper: a signal must reach the service. Detached:
  // Ctrl-C on a terminal reaches only this process, which then sends exactly one SIGTERM.
  // HOOKSTREAM_SUPERVISOR_PID: a service whose launcher vanished (SIGKILL) stops by itself.
  // The services write JSON; this process formats it for a terminal.
  const child = spawn(process.execPath, [...serviceNodeFlags(env), main], {
    cwd: ROOT,
    env: { ...SERVICE_ENV, ...env, LOG_FORMAT: "json", HOOKSTREAM_SUPERVISOR_PID: String(process.pid) },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const write = (line: string, to: NodeJS.WriteStream) => {
    if (format === "json") return void to.write(`${line}\n`);
    // until ready and once stopping, a service's info lines are its start and stop chatter
    const shown = shownLine(line, service, !entry.ready || stopping());
    if (shown !== null) to.write(`${shown}\n`);
  };
  const pipeLines = (from: NodeJS.ReadableStream | null, to: NodeJS.WriteStream) => {
    let rest = "";
    from?.on("data", (chunk: Buffer) => {
      const lines = (rest + chunk.toString("utf8")).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) write(line, to);
    });
    from?.on("end", () => {
      if (rest) write(rest, to);
    });
  };
  pipeLines(child.stdout, process.stdout);
  pipeLines(child.stderr, process.stderr);
  const entry: Child = {
    service,
    process: child,
    exitCode: null,
    ready: false,
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

async function waitReady(
  children: Child[],
  ports: ServicePort[],
  format: LogFormat,
  stopping: () => boolean,
): Promise<void> {
  const urls = children.map((c) => {
    const port = ports.find((p) => p.service === c.service);
    return { child: c, url: port ? localUrl(port) : undefined };
  });
  const pending = new Set(urls.filter((u) => u.url).map((u) => u.child.service));
  const started = Date.now();
  let warned = false;
  while (pending.size > 0 && !stopping()) {
    for (const { child, url } of urls) {
      if (!pending.has(child.service)) continue;
      if (await isReady(`${url}/readyz`)) {
        pending.delete(child.service);
        child.ready = true;
        if (format === "pretty" && !stopping()) say(`${child.service.padEnd(20)} ready on ${url}`);
      }
    }
    if (!warned && Date.now() - started > 30_000 && pending.size > 0) {
      warned = true;
      say(`still not ready after 30 s: ${[...pending].join(", ")} (see their logs above)`);
    }
    if (pending.size > 0) await new Promise((r) => setTimeout(r, 200));
  }
  if (!stopping()) {
    const list = urls.map((u) => `${u.child.service} ${u.url ?? "(no port)"}`).join(", ");
    say(
      `${format === "pretty" ? "ready" : `ready: ${list}`} — in another terminal: npx hookstream send fine_tuning.job.succeeded`,
    );
  }
}

/** The service that serves the admin API and the console (admin once it has its own service). */
function adminService(): string {
  return "admin" in SERVICES ? "admin" : "audit";
}

/**
 * The development defaults (not in production): every service told every other's
 * URL (`FINE_TUNE_URL` from `FINE_TUNE_PORT`, …) unless set; an admin token when none
 * is set; and `.hookstream/dev.env` for the CLI. Returns the environment to run with.
 */
function developmentDefaults(env: NodeJS.ProcessEnv, ports: ServicePort[]): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...env };
  // wiring: the URL variable of every service others call, from this run's ports (compose
  // and the Kubernetes base set the same from their service names)
  const wired = serviceUrls((s) => {
    const p = ports.find((x) => x.service === s);
    return p ? localUrl(p) : "";
  });
  for (const [urlVar, url] of Object.entries(wired)) if (!out[urlVar]?.trim() && url) out[urlVar] = url;
  if (env.NODE_ENV === "production") return out;

  // a development run answers on this machine only: its gateway may verify with the
  // public development secret and its admin token sits in a file. HTTP_HOST=0.0.0.0
  // (or a service's *_HOST) opens it to the network.
  if (!out.HTTP_HOST?.trim()) out.HTTP_HOST = "127.0.0.1";

  const file = join(ROOT, DEV_ENV_FILE);
  if (!env.ADMIN_TOKEN?.trim() && !env.ADMIN_TOKENS?.trim()) {
    // the last run's token, when it was one of ours: a signed-in console stays signed in
    const previous = readDevEnv(existsSync(file) ? file : undefined).ADMIN_TOKEN;
    const token = previous?.startsWith("dev_") ? previous : `dev_${randomBytes(18).toString("base64url")}`;
    out.ADMIN_TOKEN = token;
    out.HOOKSTREAM_DEV_TOKEN_FILE = file;
    say(`development admin token (console and CLI): ${token}`);
    say(`  saved with every service's URL in ${DEV_ENV_FILE}, which the CLI reads`);
  }
  const url = (service: string) => {
    const p = ports.find((x) => x.service === service);
    return p ? localUrl(p) : undefined;
  };
  const vars: Record<string, string | undefined> = {
    ADMIN_TOKEN: out.ADMIN_TOKEN,
    GATEWAY_URL: url("gateway"),
    HOOKSTREAM_ADMIN_URL: url(adminService()),
    HOOKSTREAM_FINE_TUNE_URL: url("fine-tune"),
    ...Object.fromEntries(
      ports.map((p) => [`HOOKSTREAM_${p.service.toUpperCase().replaceAll("-", "_")}_URL`, localUrl(p)]),
    ),
    DATABASE_URL: env.DATABASE_URL?.trim() || DEFAULT_DATABASE_URL,
    NATS_URL: env.NATS_URL?.trim() || DEFAULT_NATS_URL,
    HOOKSTREAM_NAMESPACE: env.HOOKSTREAM_NAMESPACE?.trim() || undefined,
    // so that `hookstream send` signs as the gateway of this run checks
    OPENAI_WEBHOOK_SECRET: env.OPENAI_WEBHOOK_SECRET?.trim() || undefined,
    WEBHOOK_PROVIDERS: env.WEBHOOK_PROVIDERS?.trim() || undefined,
  };
  const defined = Object.fromEntries(
    Object.entries(vars).filter((e): e is [string, string] => e[1] !== undefined),
  );
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(
    file,
    formatDevEnv(defined, [
      `written by npm start (pid ${process.pid}) at ${new Date().toISOString()}; not committed.`,
      "The CLI reads each variable here that its own shell does not set. Development only.",
    ]),
    { mode: 0o600 },
  );
  chmodSync(file, 0o600);
  return out;
}

async function main(): Promise<number> {
  const env = { ...process.env };
  const services = discoverServices();
  if (services.length === 0) {
    say("no service to start (no services/*/src/main.ts)");
    return 1;
  }
  const ports = servicePorts(env, services);
  const problems = [...(await portProblems(ports)), ...(await checkPrerequisites(env))];
  if (problems.length > 0) {
    for (const p of problems) say(p);
    return 1;
  }
  const runEnv = developmentDefaults(env, ports);

  // the one-shot provisioning step first, as a deployment runs it: the services then find
  // their streams as the settings give them (in production they only verify them)
  const provisioned = provisionStreams(env);
  if (provisioned !== 0) {
    say("the provisioning step failed (hookstream provision, above); nothing started");
    return 1;
  }

  const format = logFormat(env, process.stdout.isTTY === true);
  say(`starting ${services.join(", ")}`);
  let stopping = false;
  const children = services.map((s) => startChild(s, runEnv, format, () => stopping));
  const shutdownBoundMs = Number(env.SHUTDOWN_TIMEOUT_MS || 15_000) + EXTRA_STOP_MS;

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
      if (stopping) {
        if (format === "pretty")
          say(`${c.service.padEnd(20)} ${code === 0 ? "stopped" : `exited with code ${code}`}`);
        return;
      }
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

  void waitReady(children, ports, format, () => stopping);
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
  if (format === "json") for (const c of bad) say(`${c.service} exited with code ${c.exitCode}`);
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
