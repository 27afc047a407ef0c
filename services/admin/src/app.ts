import type { Topology } from "@hookstream/contracts";
import type { Registry } from "@hookstream/observability";
import { adminAuth, adminTokens, createHttpApp } from "@hookstream/runtime";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { FastifyBaseLogger, FastifyInstance, preHandlerAsyncHookHandler } from "fastify";
import type { Logger } from "pino";
import { registerAdminRoutes } from "./admin/adminRoutes";
import type { AdminMetrics } from "./adminMetrics";
import type { LiveLimits } from "./console/consoleConfig";
import { registerConsole } from "./console/index";
import type { ReplayLocks } from "./replay/replayLocks";

export interface AdminRouteDeps {
  logger: Logger;
  registry: Registry;
  metrics: AdminMetrics;
  em: EntityManager;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  /** the runtime's admin check, shared by the admin API and the console's API */
  requireAdmin: preHandlerAsyncHookHandler;
  now: () => Date;
  /** the fine-tune job API the console's /api/jobs forwards to (FINE_TUNE_URL) */
  fineTuneUrl?: string;
  /** the delivery service the console's /api/destinations forwards to (DELIVERY_URL) */
  deliveryUrl?: string;
  /** the live feed's bounds (LIVE_MAX_CONNECTIONS, LIVE_MAX_BUFFER_BYTES) */
  live?: LiveLimits;
  /** one bulk replay per handler at a time, across every admin instance */
  replayLocks: ReplayLocks;
}

/** The admin service's routes on the runtime's HTTP shell: the admin API and the console. */
export function buildAdminRoutes(app: FastifyInstance, deps: AdminRouteDeps): void {
  registerAdminRoutes(app, deps);
  registerConsole(app, deps);
}

export interface AppDeps extends Omit<AdminRouteDeps, "requireAdmin"> {
  adminToken: string | undefined;
  /** null when NATS, the streams and Postgres answer, else the reason */
  readiness: () => Promise<string | null>;
}

/**
 * The admin service's HTTP app on its own (the runtime builds it for the running service):
 * the shell, the admin API and the console, with ADMIN_TOKEN as the only token.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const app = createHttpApp({
    logger: deps.logger as FastifyBaseLogger,
    registry: deps.registry,
    readiness: deps.readiness,
    openapi: { title: "admin" },
  });
  const requireAdmin = adminAuth({
    tokens: adminTokens({ ADMIN_TOKEN: deps.adminToken }),
    failureBurst: 20,
    failuresPerSec: 1,
  });
  buildAdminRoutes(app, { ...deps, requireAdmin });
  return app;
}
