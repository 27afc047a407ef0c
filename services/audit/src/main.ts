import { parseConfig } from "@hookstream/config";
import { createLogger } from "@hookstream/observability";
import { exitOnStartupError, installGracefulShutdown } from "@hookstream/runtime";
import { AuditConfigSchema } from "./config";
import { startAudit } from "./startAudit";

const bootLogger = createLogger({ name: "audit", level: process.env.LOG_LEVEL || "info" });
try {
  const config = parseConfig(AuditConfigSchema);
  const logger = createLogger({ name: "audit", level: config.LOG_LEVEL });
  const audit = await startAudit(config, logger);
  installGracefulShutdown({ logger, timeoutMs: config.SHUTDOWN_TIMEOUT_MS, steps: audit.steps });
  await audit.app.listen({ port: config.AUDIT_PORT, host: "0.0.0.0" });
  logger.info(
    { port: config.AUDIT_PORT, admin: config.ADMIN_TOKEN ? "enabled" : "disabled (ADMIN_TOKEN unset)" },
    "audit listening",
  );
} catch (err) {
  exitOnStartupError(bootLogger, err);
}
