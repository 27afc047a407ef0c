import { type ChildProcess, execFileSync, spawn } from "node:child_process";
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

export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
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
    if (Date.now() > deadline) throw new Error(`port ${port} did not open within ${timeoutMs} ms`);
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

  async start(): Promise<void> {
    if (this.child) return;
    const args = ["-a", "127.0.0.1", "-p", String(this.port), "-js", "-sd", this.storeDir];
    const c = this.opts.cluster;
    if (c) {
      args.push("--name", c.serverName, "--cluster_name", c.name, "--cluster", `nats://127.0.0.1:${c.port}`);
      if (c.routes.length > 0) args.push("--routes", c.routes.join(","));
    }
    this.child = spawn("nats-server", args, { stdio: "ignore" });
    await waitForPort(this.port);
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
