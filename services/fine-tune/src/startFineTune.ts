import type { Logger } from "@hookstream/observability";
import { type RunningService, type ShutdownStep, startService } from "@hookstream/runtime";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import type { FineTuneConfig } from "./config";
import { fineTuneService } from "./fineTuneService";

export interface FineTuneService {
  app: FastifyInstance;
  orm: MikroORM;
  nc: NatsConnection;
  steps: ShutdownStep[];
  service: RunningService<FineTuneConfig>;
}

/** The fine-tune service started in-process (tests, benchmarks): never listens. */
export async function startFineTune(config: FineTuneConfig, logger: Logger): Promise<FineTuneService> {
  const service = await startService(fineTuneService, config, logger);
  return { app: service.app, orm: service.ctx.orm(), nc: service.ctx.nc, steps: service.steps, service };
}
