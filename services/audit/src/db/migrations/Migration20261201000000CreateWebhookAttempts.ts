import { Migration } from "@mikro-orm/migrations";

/**
 * `webhook_attempts`: one row per handler attempt at an event (its outcome message),
 * for the console's timeline; `webhook_events` keeps only the fold of them. The
 * unique key is the outcome's own identity, so a redelivered outcome adds nothing.
 * Plus an index on `resource_id` alone: the console searches by a resource id
 * without knowing its type, which the (resource_type, resource_id) index cannot serve.
 */
export class Migration20261201000000CreateWebhookAttempts extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE IF NOT EXISTS webhook_attempts (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL,
        event_type text NOT NULL,
        handler text NOT NULL,
        status text NOT NULL CHECK (status IN ('processed', 'failed', 'ignored', 'dead')),
        attempt integer NOT NULL,
        error text NULL,
        at timestamptz NOT NULL,
        replay boolean NOT NULL DEFAULT false,
        skipped boolean NOT NULL DEFAULT false,
        recorded_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT webhook_attempts_outcome_unique UNIQUE (event_id, handler, attempt, status, replay, at)
      )`);
    this.addSql("CREATE INDEX IF NOT EXISTS webhook_events_resource_id_idx ON webhook_events (resource_id)");
  }

  override async down(): Promise<void> {
    this.addSql("DROP INDEX IF EXISTS webhook_events_resource_id_idx");
    this.addSql("DROP TABLE IF EXISTS webhook_attempts");
  }
}
