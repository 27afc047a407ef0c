import type { Logger } from "@hookstream/observability";
import { type RunningService, type ShutdownStep, startService } from "@hookstream/runtime";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import { adminService } from "./adminService";
import type { AdminConfig } from "./config";

export interface Admin {
  app: FastifyInstance;
  orm: MikroORM;
  nc: NatsConnection;
  /** the shutdown order (HTTP, NATS drain, ORM, tracing) */
  steps: ShutdownStep[];
  service: RunningService<AdminConfig>;
}

/** The admin service started in-process (tests): never listens. */
export async function startAdmin(
  config: AdminConfig,
  logger: Logger,
  now: () => Date = () => new Date(),
): Promise<Admin> {
  const service = await startService(adminService, config, logger, { now });
  return { app: service.app, orm: service.ctx.orm(), nc: service.ctx.nc, steps: service.steps, service };
}
