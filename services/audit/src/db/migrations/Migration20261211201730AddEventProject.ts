import { Migration } from "@mikro-orm/migrations";

/**
 * `webhook_events.project`: the OpenAI project whose secret verified the event (its
 * `Openai-Project` header, docs/openai-projects.md); null for another provider's event
 * and for rows written before projects were recorded (nothing tells their project).
 * Indexed with the primary key: search filters by project and pages by id, newest first.
 */
export class Migration20261211201730AddEventProject extends Migration {
  override async up(): Promise<void> {
    this.addSql("ALTER TABLE webhook_events ADD COLUMN IF NOT EXISTS project text NULL");
    this.addSql("CREATE INDEX IF NOT EXISTS webhook_events_project_idx ON webhook_events (project, id)");
  }

  override async down(): Promise<void> {
    this.addSql("DROP INDEX IF EXISTS webhook_events_project_idx");
    this.addSql("ALTER TABLE webhook_events DROP COLUMN IF EXISTS project");
  }
}
