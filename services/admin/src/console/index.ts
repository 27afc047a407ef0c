import { CONSOLE_ASSETS_DIR, registerConsoleSecurityHeaders } from "@hookstream/console";
import type { Topology } from "@hookstream/contracts";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { FastifyInstance, preHandlerAsyncHookHandler } from "fastify";
import type { Logger } from "pino";
import type { AdminMetrics } from "../adminMetrics";
import { consoleEnv, type LiveLimits } from "./consoleConfig";
import { registerConsoleRoutes } from "./consoleRoutes";
import { LiveFeed } from "./liveFeed";
import { registerStaticConsole } from "./staticAssets";

export { consoleEnv } from "./consoleConfig";
export { LiveFeed } from "./liveFeed";

export interface ConsoleDeps {
  logger: Logger;
  /** the service's shared admin check (ADMIN_TOKEN/ADMIN_TOKENS, rate-limited failures) */
  requireAdmin: preHandlerAsyncHookHandler;
  em: EntityManager;
  js: JetStreamClient;
  jsm: JetStreamManager;
  topology: Topology;
  metrics: Pick<AdminMetrics, "replays">;
  now: () => Date;
  /** the fine-tune job API (FINE_TUNE_URL); default http://127.0.0.1:3005 */
  fineTuneUrl?: string;
  /** the delivery service (DELIVERY_URL); default http://127.0.0.1:3007 */
  deliveryUrl?: string;
  /** the built console; default the one @hookstream/console built */
  assetsDir?: string;
  /** the live feed's bounds (LIVE_MAX_CONNECTIONS, LIVE_MAX_BUFFER_BYTES) */
  live?: LiveLimits;
}

/**
 * The operator console on the admin service's HTTP app: the page at `/` and the admin
 * routes it reads. The live feed's consumers stop when the app closes.
 */
export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): void {
  // on every page and every answer of the service (docs/security.md)
  registerConsoleSecurityHeaders(app);
  const feed = new LiveFeed({
    js: deps.js,
    em: deps.em,
    topology: deps.topology,
    logger: deps.logger.child({ part: "console-live" }),
  });
  app.addHook("onClose", async () => feed.close());
  registerConsoleRoutes(app, {
    ...deps,
    fineTuneUrl: deps.fineTuneUrl ?? consoleEnv.FINE_TUNE_URL.parse(undefined),
    deliveryUrl: deps.deliveryUrl ?? consoleEnv.DELIVERY_URL.parse(undefined),
    feed,
  });
  registerStaticConsole(app, deps.assetsDir ?? CONSOLE_ASSETS_DIR);
}
