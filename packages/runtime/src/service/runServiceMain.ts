import { parseConfig } from "@hookstream/config";
import { createLogger, type Logger } from "@hookstream/observability";
import type { z } from "zod";
import { exitOnStartupError, installGracefulShutdown } from "../shutdown";
import { type BaseConfig, listenAddress, serviceConfigSchema } from "./serviceConfig";
import { type ServiceDefinition, startService } from "./startService";

/**
 * The `main` of every service: parse the environment once (every bad variable
 * listed at once), start the service, install the graceful shutdown, then listen.
 * `MIGRATIONS=only` runs the migrations and exits 0 (a Kubernetes migration Job).
 */
export async function runServiceMain<S extends z.ZodRawShape, C extends BaseConfig>(
  def: ServiceDefinition<S, C>,
  hooks: { beforeStart?: (config: C, logger: Logger) => void } = {},
): Promise<void> {
  const format = process.env.LOG_FORMAT === "pretty" ? "pretty" : "json";
  const boot = createLogger({ name: def.name, level: process.env.LOG_LEVEL || "info", format });
  try {
    const config = parseConfig(serviceConfigSchema(def.name, def.env, def.checkEnv)) as C;
    // buffered: the running service's lines are written together, not one write(2) each
    const logger = createLogger({
      name: def.name,
      level: config.LOG_LEVEL,
      format: config.LOG_FORMAT,
      buffered: true,
    });
    if (config.MIGRATIONS === "only") {
      if (def.db) {
        const { initOrm } = await import("@hookstream/db");
        const orm = await initOrm({ url: config.DATABASE_URL, owner: def.name, logger, ...def.db });
        await orm.close();
      }
      logger.info("migrations done; exiting (MIGRATIONS=only)");
      process.exit(0);
    }
    hooks.beforeStart?.(config, logger);
    const service = await startService(def, config, logger);
    const shutdown = installGracefulShutdown({
      logger,
      timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      steps: service.steps,
    });
    watchSupervisor(logger, shutdown);
    const { host, port } = listenAddress(def.name, config);
    await service.app.listen({ host, port });
  } catch (err) {
    exitOnStartupError(boot, err, def.name);
  }
}

/**
 * `npm start` passes its pid: a service whose launcher vanished (SIGKILL, a closed
 * terminal) shuts down by itself instead of running on unseen.
 */
function watchSupervisor(logger: Logger, shutdown: () => Promise<void>): void {
  const pid = Number(process.env.HOOKSTREAM_SUPERVISOR_PID);
  if (!Number.isInteger(pid) || pid <= 0) return;
  const timer = setInterval(() => {
    try {
      process.kill(pid, 0);
    } catch {
      clearInterval(timer);
      logger.warn({ supervisor: pid }, "the launcher is gone; shutting down");
      void shutdown();
    }
  }, 1_000);
  timer.unref();
}
