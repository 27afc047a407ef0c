import { ConfigError } from "@hookstream/config";
import type { Logger } from "pino";

export interface ShutdownStep {
  name: string;
  close(): Promise<unknown> | unknown;
}

export interface GracefulOptions {
  logger: Logger;
  /** exit anyway after this long (contract: exit within a bounded time) */
  timeoutMs: number;
  /**
   * Run in this order. The written-down order for a service is: HTTP (stop taking
   * work), then consumers (finish or nak in-flight work), then `nc.drain()`, then the ORM.
   */
  steps: ShutdownStep[];
  exit?: (code: number) => void;
}

/** Runs the steps in order; a failing step is logged and the next one still runs. */
export async function runShutdown(steps: ShutdownStep[], logger: Logger): Promise<boolean> {
  let clean = true;
  for (const step of steps) {
    try {
      await step.close();
      logger.debug({ step: step.name }, "closed");
    } catch (err) {
      clean = false;
      logger.error({ err, step: step.name }, "error while closing");
    }
  }
  return clean;
}

/**
 * SIGTERM and SIGINT: run the shutdown steps once, then exit 0 (1 if a step failed or
 * the bound was hit). A second signal does not start a second shutdown.
 */
export function installGracefulShutdown({
  logger,
  timeoutMs,
  steps,
  exit = process.exit,
}: GracefulOptions): () => Promise<void> {
  let running: Promise<void> | null = null;
  const shutdown = () => {
    running ??= (async () => {
      logger.info({ timeoutMs }, "shutting down");
      const timer = setTimeout(() => {
        logger.error({ timeoutMs }, "shutdown took too long; exiting");
        exit(1);
      }, timeoutMs);
      timer.unref();
      const clean = await runShutdown(steps, logger);
      clearTimeout(timer);
      logger.info({ clean }, "stopped");
      exit(clean ? 0 : 1);
    })();
    return running;
  };
  // `on`, not `once`: a second signal (Ctrl-C on a terminal reaches the whole process
  // group, and a supervisor may signal too) must not fall back to the default action,
  // which would kill the process in the middle of its graceful shutdown.
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  return shutdown;
}

/**
 * The plain lines a person needs for a start-up failure they can fix themselves: a
 * configuration error (every bad variable, one per line) or a port already taken.
 * Null for anything else, which is logged with its stack.
 */
export function startupProblem(err: unknown, service: string): string | null {
  if (err instanceof ConfigError) {
    return `${service}: invalid configuration:\n${err.problems.map((p) => `  - ${p}`).join("\n")}\n`;
  }
  const e = err as { code?: string; port?: number; address?: string };
  if (e?.code === "EADDRINUSE") {
    return `${service}: port ${e.port ?? "?"} on ${e.address ?? "?"} is already in use: stop what holds it, or move this service's port (its *_PORT variable)\n`;
  }
  return null;
}

/**
 * Exits 1 on a start-up error: one the operator can fix (configuration, a taken port)
 * as plain lines on stderr, not a JSON stack; anything else logged with its stack.
 */
export function exitOnStartupError(logger: Logger, err: unknown, service = "service"): never {
  const problem = startupProblem(err, service);
  if (problem) process.stderr.write(problem);
  else logger.fatal({ err }, err instanceof Error ? err.message : String(err));
  process.exit(1);
}
