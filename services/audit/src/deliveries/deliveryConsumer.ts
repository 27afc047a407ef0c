import { recordDeliveries } from "@hookstream/audit-store";
import { DeliveryRecord, type RetryPolicy, type Topology } from "@hookstream/contracts";
import { RetryableError, runBatchConsumer } from "@hookstream/messaging";
import type { MikroORM } from "@mikro-orm/postgresql";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";

export interface DeliveryConsumerOptions {
  js: JetStreamClient;
  orm: MikroORM;
  topology: Topology;
  logger: Logger;
  /** the `audit-deliveries` binding from the catalog */
  stream: string;
  durable: string;
  policy: RetryPolicy;
  maxBatch?: number;
}

/**
 * `audit-deliveries` on WEBHOOK_DELIVERIES: every outbound notification attempt into
 * `webhook_deliveries`. Like the audit's other consumers it never dead-letters: a
 * batch that cannot be written is nak'd until Postgres answers; a message that is not
 * a DeliveryRecord is logged and skipped (nothing to record, and it must not block).
 */
export function startDeliveryConsumer(opts: DeliveryConsumerOptions): { stop(): Promise<void> } {
  const { logger } = opts;
  return runBatchConsumer({
    js: opts.js,
    stream: opts.stream,
    durable: opts.durable,
    policy: opts.policy,
    logger: logger.child({ consumer: opts.durable }),
    maxBatch: opts.maxBatch,
    async handleBatch(msgs: JsMsg[]) {
      const records: DeliveryRecord[] = [];
      for (const m of msgs) {
        let parsed: ReturnType<typeof DeliveryRecord.safeParse>;
        try {
          parsed = DeliveryRecord.safeParse(m.json());
        } catch {
          parsed = DeliveryRecord.safeParse(undefined);
        }
        if (parsed.success) records.push(parsed.data);
        else logger.warn({ subject: m.subject, seq: m.seq }, "not a DeliveryRecord; skipped");
      }
      try {
        await recordDeliveries(opts.orm.em.fork(), records);
      } catch (err) {
        throw new RetryableError(
          `cannot write webhook_deliveries: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
    },
  });
}
