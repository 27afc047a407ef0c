import { DURABLES, HANDLER_NAMES, makeTopology } from "@hookstream/contracts";
import { initOrm } from "@hookstream/db";
import { connectNats, DEFAULT_STREAM_OPTIONS, ensureConsumer, ensureStreams } from "@hookstream/messaging";
import { createRegistry } from "@hookstream/observability";
import { natsReadiness, type ShutdownStep } from "@hookstream/runtime";
import type { MikroORM } from "@mikro-orm/postgresql";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { buildApp } from "./app";
import { AUDIT_RETRY, type AuditConsumers, startAuditConsumers } from "./auditConsumers";
import { createAuditMetrics } from "./auditMetrics";
import type { AuditConfig } from "./config";
import { AUDIT_MIGRATIONS } from "./migrations/index";
import { WebhookEvent } from "./WebhookEvent";

export interface Audit {
  app: FastifyInstance;
  orm: MikroORM;
  nc: NatsConnection;
  consumers: AuditConsumers;
  /** the shutdown order (HTTP, consumers, NATS drain, ORM) */
  steps: ShutdownStep[];
}

/**
 * Wires the audit: Postgres (database created, migrations run), NATS (streams and
 * both durables ensured), the consumers and the HTTP app. Does not listen.
 */
export async function startAudit(
  config: AuditConfig,
  logger: Logger,
  now: () => Date = () => new Date(),
): Promise<Audit> {
  const topology = makeTopology(config.HOOKSTREAM_NAMESPACE);
  const orm = (await initOrm({
    url: config.DATABASE_URL,
    owner: "audit",
    entities: [WebhookEvent],
    migrations: AUDIT_MIGRATIONS,
    logger,
    poolMax: config.DB_POOL_MAX,
  })) as MikroORM;
  const nc = await connectNats({ servers: config.NATS_URL, name: "audit", logger });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await ensureStreams(jsm, topology, { ...DEFAULT_STREAM_OPTIONS, replicas: config.STREAM_REPLICAS });
  const policy = {
    ...AUDIT_RETRY,
    maxDelayMs: config.AUDIT_MAX_NAK_DELAY_MS,
    ackWaitMs: config.AUDIT_ACK_WAIT_MS,
  };
  const durables = [
    {
      stream: topology.streams.webhooks,
      durable: DURABLES.audit,
      filterSubject: topology.subjects.webhooksAll,
    },
    {
      stream: topology.streams.outcomes,
      durable: DURABLES.auditOutcomes,
      filterSubject: `${topology.subjects.outcomesPrefix}.>`,
    },
  ];
  for (const d of durables) {
    await ensureConsumer(jsm, {
      ...d,
      maxDeliver: policy.maxDeliver,
      ackWaitMs: policy.ackWaitMs,
      // two batches in flight per instance, a few instances
      maxAckPending: Math.max(1_000, config.AUDIT_BATCH_SIZE * 8),
    });
  }

  const registry = createRegistry("audit");
  const metrics = createAuditMetrics(registry, {
    jsm,
    durables,
    dlq: {
      stream: topology.streams.dlq,
      subjectPrefix: topology.subjects.dlqPrefix,
      handlers: HANDLER_NAMES,
    },
  });
  const consumers = startAuditConsumers({
    js,
    orm,
    topology,
    logger,
    metrics,
    policy,
    maxBatch: config.AUDIT_BATCH_SIZE,
    now,
  });
  const streams = [topology.streams.webhooks, topology.streams.outcomes, topology.streams.dlq];
  const app = buildApp({
    logger,
    registry,
    metrics,
    em: orm.em,
    js,
    jsm,
    topology,
    adminToken: config.ADMIN_TOKEN,
    now,
    async readiness() {
      const nats = await natsReadiness(nc, jsm, streams);
      if (nats !== null) return nats;
      try {
        await orm.em.getConnection().execute("select 1");
      } catch (err) {
        return `Postgres unreachable: ${err instanceof Error ? err.message : String(err)}`;
      }
      return null;
    },
  });
  return {
    app,
    orm,
    nc,
    consumers,
    steps: [
      { name: "http", close: () => app.close() },
      { name: "consumers", close: () => consumers.stop() },
      { name: "nats", close: () => nc.drain() },
      { name: "orm", close: () => orm.close() },
    ],
  };
}
