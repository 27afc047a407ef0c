import { Migration } from "@mikro-orm/migrations";

/**
 * An event is its provider and its id together (two senders may use the same id):
 * `webhook_events` is unique on (event_id, provider) instead of event_id alone. The
 * rows without a provider are placeholders made by an outcome before its event
 * arrived; outcomes come only from OpenAI's handlers, so they are OpenAI's. The
 * index leads with event_id so that a search by an id alone still uses it. Building it
 * holds writes to the table for as long as it takes (one pass over the rows).
 */
export class Migration20261216201512EventIdentityIsProviderAndId extends Migration {
  override async up(): Promise<void> {
    this.addSql("UPDATE webhook_events SET provider = 'openai' WHERE provider IS NULL");
    this.addSql("ALTER TABLE webhook_events ALTER COLUMN provider SET DEFAULT 'openai'");
    this.addSql("ALTER TABLE webhook_events ALTER COLUMN provider SET NOT NULL");
    this.addSql(
      "CREATE UNIQUE INDEX IF NOT EXISTS webhook_events_event_id_provider_unique ON webhook_events (event_id, provider)",
    );
    this.addSql("ALTER TABLE webhook_events DROP CONSTRAINT IF EXISTS webhook_events_event_id_unique");
  }

  override async down(): Promise<void> {
    // fails, as it should, while two providers share an id
    this.addSql("ALTER TABLE webhook_events ADD CONSTRAINT webhook_events_event_id_unique UNIQUE (event_id)");
    this.addSql("DROP INDEX IF EXISTS webhook_events_event_id_provider_unique");
    this.addSql("ALTER TABLE webhook_events ALTER COLUMN provider DROP NOT NULL");
    this.addSql("ALTER TABLE webhook_events ALTER COLUMN provider DROP DEFAULT");
  }
}
