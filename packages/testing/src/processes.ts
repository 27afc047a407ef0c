import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A free loopback TCP port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * A server process a test starts, its output (stdout and stderr, the last 16 KiB)
 * kept so that a failure to start shows why: a config the server refused, a port taken.
 */
export interface WatchedProcess {
  name: string;
  child: ChildProcess;
  output(): string;
}

export function spawnWatched(
  name: string,
  cmd: string,
  args: string[],
  options: Omit<SpawnOptions, "stdio"> = {},
): WatchedProcess {
  const child = spawn(cmd, args, { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-16_384);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  // a spawn failure (no such command) surfaces as the exit below, with this in the output
  child.once("error", (err) => keep(Buffer.from(`spawn ${cmd}: ${err.message}\n`)));
  return { name, child, output: () => output };
}

function startFailure(what: string, watched: WatchedProcess | undefined): Error {
  if (!watched) return new Error(what);
  const output = watched.output().trim();
  return new Error(`${watched.name}: ${what}\n--- its output ---\n${output || "(nothing)"}`);
}

/**
 * Waits until something listens on the loopback port. With the process that should
 * open it: fails as soon as that process exits, and either failure carries its output.
 */
export async function waitForPort(port: number, timeoutMs = 15_000, watched?: WatchedProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    const child = watched?.child;
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw startFailure(
        `exited (${child.exitCode ?? child.signalCode}) before port ${port} opened`,
        watched,
      );
    }
    if (Date.now() > deadline)
      throw startFailure(`port ${port} did not open within ${timeoutMs} ms`, watched);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
}

export interface NatsServerOptions {
  port?: number;
  storeDir?: string;
  /** cluster: server name, cluster port and routes to the others */
  cluster?: { name: string; serverName: string; port: number; routes: string[] };
}

/**
 * A nats-server of the test's own on a free loopback port with its own store dir,
 * for tests that stop it (never the shared one on 4222). `stop()` kills it;
 * `start()` starts it again on the same port and store.
 */
export class NatsServerProcess {
  private child: ChildProcess | null = null;
  readonly storeDir: string;
  private ownsStore: boolean;

  private constructor(
    readonly port: number,
    private readonly opts: NatsServerOptions,
  ) {
    this.ownsStore = !opts.storeDir;
    this.storeDir = opts.storeDir ?? mkdtempSync(join(tmpdir(), "hs-nats-"));
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServerProcess> {
    const server = new NatsServerProcess(opts.port ?? (await freePort()), opts);
    await server.start();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** the running server's pid (undefined while stopped), for its CPU time and memory */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const args = ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir];
    const c = this.opts.cluster;
    if (c) {
      args.push("--name", c.serverName, "--cluster_name", c.name, "--cluster", `nats://127.0.0.1:${c.port}`);
      if (c.routes.length > 0) args.push("--routes", c.routes.join(","));
    }
    const watched = spawnWatched(`nats-server on port ${this.port}`, "nats-server", args);
    this.child = watched.child;
    await waitForPort(this.port, 15_000, watched);
  }

  /** SIGKILL by default: the harshest outage */
  async stop(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = null;
    child.kill(signal);
    await exited(child);
  }

  async destroy(): Promise<void> {
    await this.stop();
    if (this.ownsStore) rmSync(this.storeDir, { recursive: true, force: true });
  }
}

function pgBin(name: string): string {
  for (const dir of ["/usr/lib/postgresql/15/bin", "/usr/local/bin", "/usr/bin"]) {
    try {
      execFileSync("test", ["-x", join(dir, name)]);
      return join(dir, name);
    } catch {
      // next
    }
  }
  return name;
}

/** initdb and postgres refuse to run as root; run them as the `postgres` user then. */
function asPostgres(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return ["runuser", ["-u", "postgres", "--", cmd, ...args]];
  return [cmd, args];
}

/**
 * A throwaway Postgres cluster (initdb + pg_ctl) on a free loopback port, for tests
 * that stop the database. `stop()` is a fast shutdown; `start()` starts it again.
 */
export class PostgresProcess {
  private constructor(
    readonly port: number,
    readonly dataDir: string,
  ) {}

  static async start(): Promise<PostgresProcess> {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "hs-pg-"));
    chmodSync(dir, 0o777);
    const dataDir = join(dir, "data");
    const [cmd, args] = asPostgres(pgBin("initdb"), [
      "-D",
      dataDir,
      "-U",
      "postgres",
      "--auth=trust",
      "-E",
      "UTF8",
      "--no-sync",
    ]);
    execFileSync(cmd, args, { stdio: "ignore" });
    const pg = new PostgresProcess(port, dataDir);
    await pg.start();
    return pg;
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  async start(): Promise<void> {
    const [cmd, args] = asPostgres(pgBin("pg_ctl"), [
      "-D",
      this.dataDir,
      "-o",
      `-p ${this.port} -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off`,
      "-l",
      join(this.dataDir, "..", "log"),
      "-w",
      "start",
    ]);
    execFileSync(cmd, args, { stdio: "ignore" });
    await waitForPort(this.port);
  }

  async stop(mode: "fast" | "immediate" = "fast"): Promise<void> {
    const [cmd, args] = asPostgres(pgBin("pg_ctl"), ["-D", this.dataDir, "-m", mode, "-w", "stop"]);
    try {
      execFileSync(cmd, args, { stdio: "ignore" });
    } catch {
      // already stopped
    }
  }

  async destroy(): Promise<void> {
    await this.stop("immediate");
    rmSync(join(this.dataDir, ".."), { recursive: true, force: true });
  }
}
