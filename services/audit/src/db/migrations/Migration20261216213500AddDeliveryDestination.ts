import { Migration } from "@mikro-orm/migrations";

/**
 * The delivery service (issue 23) names the destination of each attempt, and records
 * the attempt that exhausted a destination's retry policy as `dead`. Rows from before
 * keep `destination` null. The unique key gains the destination: two destinations
 * may share a URL.
 */
export class Migration20261216213500AddDeliveryDestination extends Migration {
  override async up(): Promise<void> {
    this.addSql("ALTER TABLE webhook_deliveries ADD COLUMN IF NOT EXISTS destination text NULL");
    this.addSql("ALTER TABLE webhook_deliveries DROP CONSTRAINT IF EXISTS webhook_deliveries_outcome_check");
    this.addSql(
      "ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_outcome_check CHECK (outcome IN ('delivered', 'failed', 'paused', 'dead'))",
    );
    this.addSql("ALTER TABLE webhook_deliveries DROP CONSTRAINT IF EXISTS webhook_deliveries_attempt_unique");
    this.addSql(
      "ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_attempt_unique UNIQUE NULLS NOT DISTINCT (event_id, handler, destination, url, attempt, at)",
    );
  }

  override async down(): Promise<void> {
    this.addSql("ALTER TABLE webhook_deliveries DROP CONSTRAINT IF EXISTS webhook_deliveries_attempt_unique");
    this.addSql(
      "ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_attempt_unique UNIQUE (event_id, handler, url, attempt, at)",
    );
    this.addSql("ALTER TABLE webhook_deliveries DROP COLUMN IF EXISTS destination");
  }
}
