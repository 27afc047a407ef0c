import type { Logger } from "@hookstream/observability";
import { type RunningService, startService } from "@hookstream/runtime";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import type { GatewayConfig } from "./config";
import { gatewayService } from "./gatewayService";

export interface Gateway {
  app: FastifyInstance;
  nc: NatsConnection;
  service: RunningService<GatewayConfig>;
}

/** The gateway started in-process (tests, benchmarks): never listens. */
export async function startGateway(config: GatewayConfig, logger: Logger): Promise<Gateway> {
  const service = await startService(gatewayService, config, logger);
  return { app: service.app, nc: service.ctx.nc, service };
}
