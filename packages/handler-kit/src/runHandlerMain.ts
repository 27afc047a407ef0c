import { parseConfig } from "@hookstream/config";
import { createLogger } from "@hookstream/observability";
import { exitOnStartupError, installGracefulShutdown } from "@hookstream/runtime";
import type { HandlerDefinition } from "./HandlerDefinition";
import { type HandlerConfig, handlerConfigSchema } from "./handlerConfig";
import { startHandler } from "./startHandler";

/** The `main` of a handler service: parse config once, wire, listen, shut down in order on SIGTERM. */
export async function runHandlerMain(
  definition: HandlerDefinition,
  portVarName: string,
  defaultPort: number,
): Promise<void> {
  const service = `${definition.handler}-handler`;
  const bootLogger = createLogger({ name: service, level: process.env.LOG_LEVEL || "info" });
  try {
    const config = parseConfig(handlerConfigSchema(portVarName, defaultPort)) as HandlerConfig;
    const logger = createLogger({ name: service, level: config.LOG_LEVEL });
    if (!config.OPENAI_API_KEY)
      logger.warn("OPENAI_API_KEY is not set: events are handled from the webhook alone");
    const running = await startHandler(definition, config, logger);
    installGracefulShutdown({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, steps: running.steps });
    const port = config[portVarName] as number;
    await running.app.listen({ port, host: config.HTTP_HOST });
  } catch (err) {
    exitOnStartupError(bootLogger, err);
  }
}
