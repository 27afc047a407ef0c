import type { ServiceDefinition } from "@hookstream/runtime";
import { registerJobRoutes } from "./app";
import { fineTuneEnv } from "./config";
import { FineTuneJobEntity } from "./FineTuneJob";
import { createFineTuneMetrics } from "./fineTuneMetrics";
import { FINE_TUNE_MIGRATIONS } from "./migrations/index";
import { startProjectionConsumer } from "./projectionConsumer";
import { rebuildProjection } from "./rebuildProjection";

/** The fine-tune service: the `fine_tune_jobs` projection of FINE_TUNING, its job API and its rebuild. */
export const fineTuneService: ServiceDefinition<typeof fineTuneEnv> = {
  name: "fine-tune",
  env: fineTuneEnv,
  db: { entities: [FineTuneJobEntity], migrations: FINE_TUNE_MIGRATIONS },
  retryOf: (config, _durable, catalog) => ({ ...catalog, ackWaitMs: config.FINE_TUNE_ACK_WAIT_MS }),
  maxAckPendingOf: (config, _durable, catalog) => Math.max(catalog, config.FINE_TUNE_BATCH_SIZE * 4),
  start(ctx) {
    const { config, js, jsm, topology, logger } = ctx;
    const orm = ctx.orm();
    const binding = ctx.durables.get("fine-tune");
    if (!binding) throw new Error("the catalog gives fine-tune no `fine-tune` durable");
    const consumer = startProjectionConsumer({
      js,
      orm,
      topology,
      logger,
      metrics: createFineTuneMetrics(ctx.registry),
      policy: binding.policy,
      maxBatch: config.FINE_TUNE_BATCH_SIZE,
    });
    if (config.FINE_TUNE_API_PUBLIC)
      logger.warn("FINE_TUNE_API_PUBLIC=true: the job API answers without a token");
    return {
      consumers: [consumer],
      routes: (app) =>
        registerJobRoutes(app, {
          orm,
          js,
          jsm,
          topology,
          requireAdmin: ctx.requireAdmin,
          jobApiPublic: config.FINE_TUNE_API_PUBLIC,
          rebuild: (onProgress) => rebuildProjection({ orm, js, jsm, topology, onProgress }),
        }),
    };
  },
};
