// The real gateway as `npm start` runs it, in its own namespace, logging only warnings.
import { parseConfig } from "@hookstream/config";
import { GatewayConfig, startGateway } from "@hookstream/gateway";
import { createLogger } from "@hookstream/observability";

const config = parseConfig(GatewayConfig);
const { app, nc } = await startGateway(config, createLogger({ name: "gateway", level: "warn" }));
await app.listen({ port: config.GATEWAY_PORT, host: "127.0.0.1" });
process.on(
  "SIGTERM",
  () =>
    void app
      .close()
      .then(() => nc.drain())
      .then(() => process.exit(0)),
);
