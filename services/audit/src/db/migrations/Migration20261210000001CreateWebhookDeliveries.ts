import { Migration } from "@mikro-orm/migrations";

/**
 * `webhook_deliveries`: the delivery log — one row per outbound notification attempt
 * (a DeliveryRecord from WEBHOOK_DELIVERIES): where, answered what, how fast, why it
 * failed. The unique key is the record's own identity, so a redelivered record adds
 * nothing; the index serves the console's "deliveries of this event".
 */
export class Migration20261210000001CreateWebhookDeliveries extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE IF NOT EXISTS webhook_deliveries (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL,
        event_type text NOT NULL,
        handler text NOT NULL,
        url text NOT NULL,
        webhook_id text NOT NULL,
        attempt integer NOT NULL,
        status_code integer NULL,
        latency_ms double precision NOT NULL,
        error text NULL,
        outcome text NOT NULL CHECK (outcome IN ('delivered', 'failed', 'paused')),
        at timestamptz NOT NULL,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT webhook_deliveries_attempt_unique UNIQUE (event_id, handler, url, attempt, at)
      )`);
    this.addSql(
      "CREATE INDEX IF NOT EXISTS webhook_deliveries_event_id_idx ON webhook_deliveries (event_id)",
    );
  }

  override async down(): Promise<void> {
    this.addSql("DROP TABLE IF EXISTS webhook_deliveries");
  }
}
