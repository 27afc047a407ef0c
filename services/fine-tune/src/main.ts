import { parseConfig } from "@hookstream/config";
import { createLogger } from "@hookstream/observability";
import { exitOnStartupError, installGracefulShutdown } from "@hookstream/runtime";
import { FineTuneConfigSchema } from "./config";
import { startFineTune } from "./startFineTune";

const bootLogger = createLogger({ name: "fine-tune", level: process.env.LOG_LEVEL || "info" });
try {
  const config = parseConfig(FineTuneConfigSchema);
  const logger = createLogger({ name: "fine-tune", level: config.LOG_LEVEL });
  const service = await startFineTune(config, logger);
  installGracefulShutdown({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, steps: service.steps });
  await service.app.listen({ port: config.FINE_TUNE_PORT, host: config.HTTP_HOST });
} catch (err) {
  exitOnStartupError(bootLogger, err);
}
