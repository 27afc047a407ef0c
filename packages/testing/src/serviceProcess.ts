import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

export interface ServiceProcessOptions {
  /** folder under services/, e.g. "gateway" */
  service: string;
  /** the script to run instead of `services/<service>/src/main.ts`, relative to the repository */
  main?: string;
  env: Record<string, string>;
  /** the port of its HTTP server, to wait for /readyz */
  port: number;
  /** the address /readyz is polled on (default 127.0.0.1) */
  host?: string;
  /** collect stdout/stderr lines (pino JSON) */
  onLine?: (line: string) => void;
}

/**
 * One service run as its own process (`node --import tsx services/<x>/src/main.ts`),
 * as production runs it: for tests that SIGKILL or SIGTERM a service mid-work.
 */
export class ServiceProcess {
  private child: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly output: string[] = [];

  constructor(readonly opts: ServiceProcessOptions) {
    const main = join(ROOT, opts.main ?? join("services", opts.service, "src", "main.ts"));
    this.child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", main], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: "info", ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (!line) continue;
        this.output.push(line);
        opts.onLine?.(line);
      }
    };
    this.child.stdout?.on("data", onData);
    this.child.stderr?.on("data", onData);
    this.exit = new Promise((resolve) =>
      this.child.once("exit", (code, signal) => resolve({ code, signal })),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** resolves when GET /readyz answers 200; rejects if the process exits first */
  async ready(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exit.then(() => {
      exited = true;
    });
    for (;;) {
      if (exited)
        throw new Error(`${this.opts.service} exited before ready:\n${this.output.slice(-20).join("\n")}`);
      try {
        const res = await fetch(`http://${this.opts.host ?? "127.0.0.1"}:${this.opts.port}/readyz`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        throw new Error(
          `${this.opts.service} not ready after ${timeoutMs} ms:\n${this.output.slice(-20).join("\n")}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    this.child.kill(signal);
  }

  /** SIGTERM and wait; returns the exit code and how long it took */
  async terminate(): Promise<{ code: number | null; ms: number }> {
    const t0 = Date.now();
    this.child.kill("SIGTERM");
    const { code } = await this.exit;
    return { code, ms: Date.now() - t0 };
  }
}
