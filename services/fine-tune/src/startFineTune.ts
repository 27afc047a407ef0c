import { DURABLES, makeTopology } from "@hookstream/contracts";
import { initOrm } from "@hookstream/db";
import { connectNats, DEFAULT_STREAM_OPTIONS, ensureConsumer, ensureStreams } from "@hookstream/messaging";
import { Counter, createRegistry, Gauge } from "@hookstream/observability";
import { natsReadiness, type ShutdownStep } from "@hookstream/runtime";
import type { MikroORM } from "@mikro-orm/postgresql";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { buildApp } from "./app";
import type { FineTuneConfig } from "./config";
import { FineTuneJobEntity } from "./FineTuneJob";
import { FINE_TUNE_MIGRATIONS } from "./migrations/index";
import { PROJECTION_RETRY, startProjectionConsumer } from "./projectionConsumer";
import { rebuildProjection } from "./rebuildProjection";

export interface FineTuneService {
  app: FastifyInstance;
  orm: MikroORM;
  nc: NatsConnection;
  steps: ShutdownStep[];
}

/** Wires the fine-tune service: migrations, the `fine-tune` durable, the projection consumer and the query API. */
export async function startFineTune(config: FineTuneConfig, logger: Logger): Promise<FineTuneService> {
  const topology = makeTopology(config.HOOKSTREAM_NAMESPACE);
  const orm = (await initOrm({
    url: config.DATABASE_URL,
    owner: "fine-tune",
    entities: [FineTuneJobEntity],
    migrations: FINE_TUNE_MIGRATIONS,
    logger,
    poolMax: config.DB_POOL_MAX,
  })) as MikroORM;
  const nc = await connectNats({ servers: config.NATS_URL, name: "fine-tune", logger });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await ensureStreams(jsm, topology, { ...DEFAULT_STREAM_OPTIONS, replicas: config.STREAM_REPLICAS });
  const policy = { ...PROJECTION_RETRY, ackWaitMs: config.FINE_TUNE_ACK_WAIT_MS };
  await ensureConsumer(jsm, {
    stream: topology.streams.fineTuning,
    durable: DURABLES.fineTune,
    filterSubject: `${topology.subjects.fineTuningPrefix}.>`,
    maxDeliver: policy.maxDeliver,
    ackWaitMs: policy.ackWaitMs,
    maxAckPending: Math.max(1_000, config.FINE_TUNE_BATCH_SIZE * 4),
  });

  const registry = createRegistry("fine-tune");
  const metrics = {
    applied: new Counter({
      name: "hookstream_projection_applied_total",
      help: "job snapshots folded into fine_tune_jobs",
      registers: [registry],
    }),
    stale: new Counter({
      name: "hookstream_projection_stale_total",
      help: "folded job states that changed nothing (older or duplicate)",
      registers: [registry],
    }),
    invalid: new Counter({
      name: "hookstream_projection_invalid_total",
      help: "messages that were not job snapshots",
      registers: [registry],
    }),
  };
  new Gauge({
    name: "hookstream_projection_consumer_lag",
    help: "snapshots not yet delivered to the fine-tune consumer",
    registers: [registry],
    async collect() {
      this.set(
        await jsm.consumers.info(topology.streams.fineTuning, DURABLES.fineTune).then(
          (i) => i.num_pending,
          () => -1,
        ),
      );
    },
  });
  const consumer = startProjectionConsumer({
    js,
    orm,
    topology,
    logger,
    metrics,
    policy,
    maxBatch: config.FINE_TUNE_BATCH_SIZE,
  });

  const app = buildApp({
    orm,
    js,
    jsm,
    topology,
    logger: logger as FastifyBaseLogger,
    registry,
    adminToken: config.ADMIN_TOKEN,
    rebuild: (onProgress) => rebuildProjection({ orm, js, jsm, topology, onProgress }),
    async readiness() {
      const nats = await natsReadiness(nc, jsm, [topology.streams.fineTuning]);
      if (nats) return nats;
      return (await orm.isConnected()) ? null : "Postgres unreachable";
    },
  });
  return {
    app,
    orm,
    nc,
    steps: [
      { name: "http", close: () => app.close() },
      { name: "consumer", close: () => consumer.stop() },
      { name: "nats", close: () => nc.drain() },
      { name: "orm", close: () => orm.close() },
    ],
  };
}
