import { type DeliveryRecord, deliverySubject, type Topology } from "@hookstream/contracts";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Logger } from "pino";

/**
 * Publishes one delivery record on `deliveries.<handler>` (stream WEBHOOK_DELIVERIES),
 * which the audit writes to `webhook_deliveries`. Best effort: a record that cannot be
 * published is logged, never allowed to fail (and so repeat) a notification that went out.
 */
export async function publishDelivery(
  deps: { js: JetStreamClient; topology: Topology; logger: Logger },
  record: DeliveryRecord,
): Promise<void> {
  try {
    await deps.js.publish(deliverySubject(deps.topology, record.handler), JSON.stringify(record));
  } catch (err) {
    deps.logger.warn(
      { err, url: record.url, outcome: record.outcome },
      "could not record the delivery attempt",
    );
  }
}
