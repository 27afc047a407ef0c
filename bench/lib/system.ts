/**
 * The whole system on this machine, for the soak and the pipeline benchmark: every
 * service of the catalog as its own process running its compiled `dist/main.js`
 * (the build must be done), a nats-server of its own on free ports with its own
 * store (never the shared one: the soak kills it), a database of its own on the
 * shared Postgres, a fake OpenAI API answering at once for any id, and a receiver
 * behind NOTIFY_URLS. Any service, and the nats-server, can be SIGKILLed and started
 * again as a supervisor would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SERVICE_NAMES, SERVICES } from "@hookstream/contracts";
import {
  createTestDatabase,
  FakeOpenAI,
  freePort,
  NatsServerProcess,
  TEST_SECRET,
  type TestDatabase,
} from "@hookstream/testing";
import { productionNodeFlags, SERVICE_ENV, serviceNodeFlags } from "../../scripts/serviceFlags";
import { NotificationSink } from "./notificationSink";
import { cpuMs, pinned, ROOT } from "./proc";

export interface SystemOptions {
  /** names the database (`<label>…`) */
  label: string;
  /** the shared Postgres server the system's own database is created on */
  databaseServerUrl: string;
  /**
   * `npm-start`: the node flags `npm start` gives the services (scripts/serviceFlags.ts);
   * `production`: the image's (Node's defaults, the audit's larger young generation)
   */
  flags: "npm-start" | "production";
  /** production runs `info` */
  logLevel?: string;
  /** more environment for every service */
  env?: Record<string, string>;
  /** pin the services to this core (null: every core) */
  cpu?: string | null;
}

export interface ServiceState {
  name: string;
  port: number;
  proc: ChildProcess;
  /** when the running process was spawned (epoch ms) */
  startedAt: number;
  restarts: number;
  /** the last lines it wrote (pino JSON), for a failure's message */
  tail: string[];
  /** lines at level error or fatal, over every process of this service */
  errors: number;
}

const NOTIFY_SIGNING_SECRET = `whsec_${Buffer.from("hookstream-soak-notify-secret-0123").toString("base64")}`;
const ADMIN_TOKEN = "soak-admin-token-0123456789abcdef";
/** generous: on a loaded shared machine a service starting beside the others, or under a backlog, was seen taking over 2 min */
const READY_MS = 5 * 60_000;

/** The services of the catalog that have a compiled entry point, in the catalog's order. */
export function catalogServices(): string[] {
  return SERVICE_NAMES.map(String);
}

/** The environment of the soak's process, without what must not reach a compiled service. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    // tsx/vitest's loader flags, vitest's NODE_ENV=test, and any service setting of the caller's shell
    if (k === "NODE_OPTIONS" || k === "NODE_ENV" || k.startsWith("VITEST") || k.startsWith("HOOKSTREAM_"))
      continue;
    if (k.endsWith("_PORT") || k.startsWith("OTEL_")) continue;
    env[k] = v;
  }
  return env;
}

export class RunningSystem {
  readonly services = new Map<string, ServiceState>();
  readonly env: Record<string, string>;

  private constructor(
    readonly opts: SystemOptions,
    readonly nats: NatsServerProcess,
    readonly db: TestDatabase,
    readonly fake: FakeOpenAI,
    readonly sink: NotificationSink,
    readonly ports: Record<string, number>,
  ) {
    this.env = {
      ...baseEnv(),
      ...SERVICE_ENV,
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      OPENAI_WEBHOOK_SECRET: TEST_SECRET,
      OPENAI_API_KEY: "sk-soak",
      OPENAI_BASE_URL: fake.baseURL,
      NOTIFY_URLS: sink.url,
      NOTIFY_SIGNING_SECRET,
      ADMIN_TOKEN,
      LOG_LEVEL: opts.logLevel ?? "info",
      // a service whose launcher vanished stops by itself, as under npm start
      HOOKSTREAM_SUPERVISOR_PID: String(process.pid),
      ...Object.fromEntries(
        Object.entries(ports).map(([s, port]) => [
          (SERVICES as Record<string, { portVar: string }>)[s]?.portVar ?? "",
          String(port),
        ]),
      ),
      ...opts.env,
    };
  }

  /** Starts everything and resolves when every service answers /readyz. */
  static async start(opts: SystemOptions): Promise<RunningSystem> {
    const unbuilt = catalogServices().filter(
      (s) => !existsSync(join(ROOT, "services", s, "dist", "main.js")),
    );
    if (unbuilt.length > 0)
      throw new Error(`not built: ${unbuilt.join(", ")} (no dist/main.js): run \`npm run build\` first`);
    const nats = await NatsServerProcess.start();
    const db = await createTestDatabase(opts.databaseServerUrl, opts.label);
    const fake = await FakeOpenAI.start({ record: false });
    fake.answerEveryId();
    const sink = await NotificationSink.start();
    const ports: Record<string, number> = {};
    for (const s of catalogServices()) ports[s] = await freePort();
    const system = new RunningSystem(opts, nats, db, fake, sink, ports);
    try {
      // all at once, as npm start starts them
      for (const s of catalogServices()) system.spawn(s);
      await Promise.all(catalogServices().map((s) => system.ready(s, READY_MS)));
    } catch (err) {
      await system.stop();
      throw err;
    }
    return system;
  }

  get gatewayUrl(): string {
    return `http://127.0.0.1:${this.ports.gateway}/webhooks/openai`;
  }

  private spawn(name: string): ServiceState {
    const flags = this.opts.flags === "npm-start" ? serviceNodeFlags(this.env) : productionNodeFlags(name);
    // BENCH_SERVICE_NODE_ARGS, e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof", profiles every service
    const extra = (process.env.BENCH_SERVICE_NODE_ARGS ?? "").split(" ").filter(Boolean);
    const [cmd, args] = pinned(this.opts.cpu ?? null, process.execPath, [
      ...flags,
      ...extra,
      join(ROOT, "services", name, "dist", "main.js"),
    ]);
    const proc = spawn(cmd, args, { cwd: ROOT, env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    const previous = this.services.get(name);
    const state: ServiceState = {
      name,
      port: this.ports[name] as number,
      proc,
      startedAt: Date.now(),
      restarts: previous ? previous.restarts + 1 : 0,
      tail: previous?.tail ?? [],
      errors: previous?.errors ?? 0,
    };
    const keep = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        // pino levels: 50 error, 60 fatal
        if (line.includes('"level":50') || line.includes('"level":60')) state.errors++;
        state.tail.push(line.length > 2_000 ? `${line.slice(0, 2_000)}…` : line);
        if (state.tail.length > 60) state.tail.splice(0, state.tail.length - 60);
      }
    };
    proc.stdout?.on("data", keep);
    proc.stderr?.on("data", keep);
    this.services.set(name, state);
    return state;
  }

  /** Resolves when the service answers /readyz; rejects with its last lines if it exits or takes too long. */
  async ready(name: string, timeoutMs = 120_000): Promise<void> {
    const s = this.services.get(name);
    if (!s) throw new Error(`no service ${name}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (s.proc.exitCode !== null || s.proc.signalCode !== null)
        throw new Error(`${name} exited before ready:\n${s.tail.slice(-20).join("\n")}`);
      const ok = await fetch(`http://127.0.0.1:${s.port}/readyz`, {
        signal: AbortSignal.timeout(2_000),
      }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline)
        throw new Error(`${name} not ready after ${timeoutMs} ms:\n${s.tail.slice(-20).join("\n")}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL, then start it again at once (a supervisor's restart); resolves when it is ready again. */
  async killAndRestart(name: string): Promise<{ killedAt: number; readyAt: number }> {
    const s = this.services.get(name);
    if (!s) throw new Error(`no service ${name}`);
    const exited = new Promise<void>((r) => {
      if (s.proc.exitCode !== null || s.proc.signalCode !== null) r();
      else s.proc.once("exit", () => r());
    });
    const killedAt = Date.now();
    s.proc.kill("SIGKILL");
    await exited;
    this.spawn(name);
    await this.ready(name, READY_MS);
    return { killedAt, readyAt: Date.now() };
  }

  /** SIGKILL the nats-server and start it again on the same port and store. */
  async killAndRestartNats(): Promise<{ killedAt: number; readyAt: number }> {
    const killedAt = Date.now();
    await this.nats.stop("SIGKILL");
    await this.nats.start();
    // every service reconnects by itself; ready again when each /readyz says so
    await Promise.all(catalogServices().map((s) => this.ready(s, READY_MS)));
    return { killedAt, readyAt: Date.now() };
  }

  /** The processes measured: every service and the nats-server, by name. */
  pids(): Record<string, number | undefined> {
    const out: Record<string, number | undefined> = {};
    for (const [name, s] of this.services) out[name] = s.proc.pid;
    out["nats-server"] = this.nats.pid;
    return out;
  }

  /** A service's V8 heap in use (MiB), from its /metrics (prom-client's nodejs_heap_size_used_bytes). */
  async heapMiB(name: string): Promise<number | null> {
    const s = this.services.get(name);
    if (!s) return null;
    try {
      const text = await (
        await fetch(`http://127.0.0.1:${s.port}/metrics`, { signal: AbortSignal.timeout(5_000) })
      ).text();
      const m = /^\w*nodejs_heap_size_used_bytes(?:\{[^}]*\})? ([\d.e+]+)$/m.exec(text);
      return m ? Number(m[1]) / 2 ** 20 : null;
    } catch {
      return null;
    }
  }

  /**
   * CPU time (ms) of every measured process, Postgres included (`postgres`: this
   * database's backends and the server's own background processes), but for the
   * backends of the harness's own connections (`harnessPids`: the client asking, the
   * row watcher's polls), whose queries are the measurement's, not the system's.
   */
  async cpuMs(
    pg: { query: (sql: string, args: unknown[]) => Promise<{ rows: Array<{ pid: number }> }> },
    harnessPids: Array<number | null> = [],
  ) {
    const out: Record<string, number> = {};
    for (const [name, pid] of Object.entries(this.pids())) out[name] = cpuMs(pid);
    const { rows } = await pg.query(
      "SELECT pid FROM pg_stat_activity WHERE (datname = $1 OR (datname IS NULL AND backend_type <> 'client backend')) AND pid <> pg_backend_pid() AND NOT (pid = ANY($2::int[]))",
      [this.db.name, harnessPids.filter((p): p is number => p !== null)],
    );
    out.postgres = rows.reduce((a, r) => a + (Number.isFinite(cpuMs(r.pid)) ? cpuMs(r.pid) : 0), 0);
    return out;
  }

  /** Stops every service (SIGTERM, SIGKILL after 20 s), the nats-server, the fakes, and drops the database. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.services.values()].map(
        (s) =>
          new Promise<void>((resolve) => {
            if (s.proc.exitCode !== null || s.proc.signalCode !== null) return resolve();
            const timer = setTimeout(() => s.proc.kill("SIGKILL"), 20_000);
            s.proc.once("exit", () => {
              clearTimeout(timer);
              resolve();
            });
            s.proc.kill("SIGTERM");
          }),
      ),
    );
    await this.nats.destroy();
    await this.fake.close();
    await this.sink.close();
    await this.db.drop();
  }
}
