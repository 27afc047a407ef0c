import { WebhookEvent } from "@hookstream/audit-store";
import { DURABLES, HANDLER_NAMES } from "@hookstream/contracts";
import type { ServiceDefinition } from "@hookstream/runtime";
import { createAuditMetrics } from "./auditMetrics";
import { auditEnv } from "./config";
import { AUDIT_MIGRATIONS } from "./db/migrations/index";
import { startDeliveryConsumer } from "./deliveries/index";
import { AUDIT_WAITING_BATCHES, startAuditConsumers } from "./ingest/auditConsumers";
import { startRetention } from "./retention/index";

/**
 * The audit writer: every WEBHOOKS message into `webhook_events` (durable `audit`), every
 * handler outcome folded into it (durable `audit-outcomes`), every delivery record into
 * `webhook_deliveries` (durable `audit-deliveries`), and the retention schedule. It reads
 * untrusted payloads and holds no delete right on any stream: the operator's surface
 * (admin API, console, replay, erasure) is the admin service's (services/admin).
 */
export const auditService: ServiceDefinition<typeof auditEnv> = {
  name: "audit",
  env: auditEnv,
  db: { entities: [WebhookEvent], migrations: AUDIT_MIGRATIONS },
  // nothing of the audit reads the active trace across an await: its batch spans are
  // roots linked to their messages' traces, and it publishes nothing on a request's
  // behalf. Without the hook on every promise a drain costs ~7 % less CPU per message
  // (BENCHMARKS.md, "Audit drain")
  asyncTraceContext: false,
  // writes only fail while Postgres is away: unlimited deliveries, delays capped by the config
  retryOf: (config, _durable, catalog) => ({
    ...catalog,
    maxDelayMs: config.AUDIT_MAX_NAK_DELAY_MS,
    ackWaitMs: config.AUDIT_ACK_WAIT_MS,
  }),
  // each instance holds the batches being written, those waiting and one being pulled;
  // room for two instances at full speed (more share it)
  maxAckPendingOf: (config, _durable, catalog) =>
    Math.max(
      catalog,
      config.AUDIT_BATCH_SIZE * Math.max(8, (config.AUDIT_WRITERS + AUDIT_WAITING_BATCHES + 1) * 2),
    ),
  start(ctx) {
    const { config, js, jsm, topology, logger, registry } = ctx;
    const orm = ctx.orm();
    const events = ctx.durables.get(DURABLES.audit);
    if (!events) throw new Error("the catalog gives the audit no `audit` durable");
    const deliveries = ctx.durables.get(DURABLES.auditDeliveries);
    if (!deliveries) throw new Error("the catalog gives the audit no `audit-deliveries` durable");
    const metrics = createAuditMetrics(registry, {
      jsm,
      failureDurables: [...ctx.durables.values()],
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
      policy: events.policy,
      maxBatch: config.AUDIT_BATCH_SIZE,
      concurrency: config.AUDIT_WRITERS,
      now: ctx.now,
    });
    // the delivery log: every outbound notification attempt (deliveries/)
    const deliveryLog = startDeliveryConsumer({
      js,
      orm,
      topology,
      logger,
      stream: deliveries.stream,
      durable: deliveries.durable,
      policy: deliveries.policy,
      maxBatch: config.AUDIT_BATCH_SIZE,
    });
    const retention = startRetention({ orm, config, registry, logger, now: ctx.now });
    return {
      consumers: [consumers, deliveryLog],
      stop: () => retention.stop(),
    };
  },
};
