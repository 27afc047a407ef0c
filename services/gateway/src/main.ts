import { DEV_WEBHOOK_SECRET, parseConfig } from "@hookstream/config";
import { createLogger } from "@hookstream/observability";
import { exitOnStartupError, installGracefulShutdown } from "@hookstream/runtime";
import { GatewayConfig } from "./config";
import { startGateway } from "./startGateway";

const SERVICE = "gateway";
const bootLogger = createLogger({ name: SERVICE, level: process.env.LOG_LEVEL ?? "info" });

async function main(): Promise<void> {
  const config = parseConfig(GatewayConfig);
  const logger = createLogger({ name: SERVICE, level: config.LOG_LEVEL });
  if (config.OPENAI_WEBHOOK_SECRET === DEV_WEBHOOK_SECRET) {
    logger.warn(
      "OPENAI_WEBHOOK_SECRET is not set: using the development secret. Never run this in production.",
    );
  }
  const { app, nc } = await startGateway(config, logger);
  await app.listen({ port: config.GATEWAY_PORT, host: config.GATEWAY_HOST });

  installGracefulShutdown({
    logger,
    timeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    steps: [
      // stop taking requests first; requests in flight finish their publish
      { name: "http", close: () => app.close() },
      { name: "nats", close: () => nc.drain() },
    ],
  });
}

main().catch((err) => exitOnStartupError(bootLogger, err));
