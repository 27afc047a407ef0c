import type { Topology } from "@hookstream/contracts";
import { type Registry, registerHealthRoutes } from "@hookstream/observability";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import { registerAdminRoutes } from "./adminRoutes";
import type { AuditMetrics } from "./auditMetrics";

export interface AppDeps {
  logger: Logger;
  registry: Registry;
  metrics: AuditMetrics;
  em: EntityManager;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  adminToken: string | undefined;
  /** null when NATS, the streams and Postgres answer, else the reason */
  readiness: () => Promise<string | null>;
  now: () => Date;
}

/** The audit's HTTP app: health routes and the admin API. Never listens (main.ts does). */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
  });
  registerHealthRoutes(app, { registry: deps.registry, readiness: deps.readiness });
  registerAdminRoutes(app, deps);
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({ error: "not_found", message: `no route ${req.method} ${req.url}` }),
  );
  return app;
}
