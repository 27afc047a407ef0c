import { Migration } from "@mikro-orm/migrations";

/**
 * `webhook_events.provider`: the sender of the event (`openai`, or a WEBHOOK_PROVIDERS
 * name), taken from its subject `webhooks.<provider>.<type>` when the audit writes it.
 * Every row written before this column existed is OpenAI's (the only sender then): the
 * column is added with that default and the default dropped at once, which Postgres
 * does without rewriting the table (the old rows read the value kept in the catalog).
 */
export class Migration20261210000000AddEventProvider extends Migration {
  override async up(): Promise<void> {
    this.addSql("ALTER TABLE webhook_events ADD COLUMN IF NOT EXISTS provider text NULL DEFAULT 'openai'");
    this.addSql("ALTER TABLE webhook_events ALTER COLUMN provider DROP DEFAULT");
  }

  override async down(): Promise<void> {
    this.addSql("ALTER TABLE webhook_events DROP COLUMN IF EXISTS provider");
  }
}
