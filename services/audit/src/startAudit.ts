import type { Logger } from "@hookstream/observability";
import { type RunningService, type ShutdownStep, startService } from "@hookstream/runtime";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import { auditService } from "./auditService";
import type { AuditConfig } from "./config";

export interface Audit {
  app: FastifyInstance;
  orm: MikroORM;
  nc: NatsConnection;
  /** the shutdown order (HTTP, consumers, retention, NATS drain, ORM, tracing) */
  steps: ShutdownStep[];
  service: RunningService<AuditConfig>;
}

/** The audit started in-process (tests, benchmarks): never listens. */
export async function startAudit(
  config: AuditConfig,
  logger: Logger,
  now: () => Date = () => new Date(),
): Promise<Audit> {
  const service = await startService(auditService, config, logger, { now });
  return { app: service.app, orm: service.ctx.orm(), nc: service.ctx.nc, steps: service.steps, service };
}
