import type { Logger } from "@hookstream/observability";
import { type RunningService, type ShutdownStep, startService } from "@hookstream/runtime";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import type { HandlerDefinition } from "./HandlerDefinition";
import type { HandlerConfig } from "./handlerConfig";
import { handlerService } from "./handlerService";

export interface RunningHandler {
  app: FastifyInstance;
  nc: NatsConnection;
  orm: MikroORM;
  /** HTTP, consumers, NATS drain, ORM: the shutdown order */
  steps: ShutdownStep[];
  service: RunningService<HandlerConfig>;
}

/** A domain handler started in-process (tests): never listens. */
export async function startHandler(
  definition: HandlerDefinition,
  config: HandlerConfig,
  logger: Logger,
  now: () => Date = () => new Date(),
): Promise<RunningHandler> {
  const service = await startService(handlerService(definition), config, logger, { now });
  return { app: service.app, nc: service.ctx.nc, orm: service.ctx.orm(), steps: service.steps, service };
}
