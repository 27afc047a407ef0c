import { Migration } from "@mikro-orm/migrations";

/** The contract table `webhook_events` (docs/architecture.md, "Tables") plus `stream_seq` and `subject`. */
export class Migration20261128000000CreateWebhookEvents extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE IF NOT EXISTS webhook_events (
        id bigserial PRIMARY KEY,
        event_id text NOT NULL,
        event_type text NOT NULL,
        webhook_id text NULL,
        "timestamp" timestamptz NULL,
        signature text NULL,
        headers jsonb NULL,
        payload jsonb NULL,
        status text NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'processed', 'failed', 'ignored', 'dead')),
        processed_at timestamptz NULL,
        error_message text NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        retry_count integer NOT NULL DEFAULT 0,
        resource_type text NULL,
        resource_id text NULL,
        stream_seq bigint NULL,
        subject text NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT webhook_events_event_id_unique UNIQUE (event_id)
      )`);
    this.addSql("CREATE INDEX IF NOT EXISTS webhook_events_status_idx ON webhook_events (status)");
    this.addSql("CREATE INDEX IF NOT EXISTS webhook_events_event_type_idx ON webhook_events (event_type)");
    this.addSql("CREATE INDEX IF NOT EXISTS webhook_events_created_at_idx ON webhook_events (created_at)");
    this.addSql(
      "CREATE INDEX IF NOT EXISTS webhook_events_resource_idx ON webhook_events (resource_type, resource_id)",
    );
  }

  override async down(): Promise<void> {
    this.addSql("DROP TABLE IF EXISTS webhook_events");
  }
}
