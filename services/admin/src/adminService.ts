import { WebhookEvent } from "@hookstream/audit-store";
import { ensureBuckets, streamOptionsFromEnv } from "@hookstream/messaging";
import type { ServiceDefinition } from "@hookstream/runtime";
import { createAdminMetrics } from "./adminMetrics";
import { buildAdminRoutes } from "./app";
import { adminEnv } from "./config";
import { ADMIN_MIGRATIONS } from "./db/migrations/index";
import { registerDeliveryRoutes } from "./deliveries/deliveryRoutes";
import { ReplayLocks } from "./replay/replayLocks";

/**
 * The operator's service: the admin API and the console, single and bulk replay,
 * DLQ redrive, erasure and the fine-tune jobs and destinations proxies, for authenticated operators
 * only. It consumes no durable; it holds the delete rights erasure and redrive need,
 * which the audit writer (it reads untrusted payloads) does not.
 */
export const adminService: ServiceDefinition<typeof adminEnv> = {
  name: "admin",
  env: adminEnv,
  db: { entities: [WebhookEvent], migrations: ADMIN_MIGRATIONS },
  async start(ctx) {
    const { config, js, jsm, topology, logger, registry } = ctx;
    const orm = ctx.orm();
    const metrics = createAdminMetrics(registry);
    // the provisioning step creates the bucket; in production (verify) it is only opened
    const replayLocks = await ReplayLocks.open(
      await ensureBuckets(js, topology, streamOptionsFromEnv(config), {
        bucket: "replayLocks",
        mode: ctx.streamProvisioning === "verify" ? "verify" : "create",
        onMissing: (stream) =>
          logger.error(
            { stream },
            `KV bucket ${stream} is missing: run the provisioning step (hookstream provision)`,
          ),
      }),
    );
    return {
      routes: (app) => {
        registerDeliveryRoutes(app, { em: orm.em, requireAdmin: ctx.requireAdmin });
        buildAdminRoutes(app, {
          logger,
          registry,
          metrics,
          em: orm.em,
          js,
          jsm,
          topology,
          requireAdmin: ctx.requireAdmin,
          now: ctx.now,
          replayLocks,
          fineTuneUrl: config.FINE_TUNE_URL,
          deliveryUrl: config.DELIVERY_URL,
          live: { maxConnections: config.LIVE_MAX_CONNECTIONS, maxBufferBytes: config.LIVE_MAX_BUFFER_BYTES },
        });
      },
    };
  },
};
