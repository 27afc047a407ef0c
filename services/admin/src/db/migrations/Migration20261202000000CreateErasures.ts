import { Migration } from "@mikro-orm/migrations";

/**
 * `erasures`: one row per erasure — what was asked (`target`), the event ids it
 * covered, how many copies each store gave up, who asked (the admin token's label)
 * and when. Never a payload: it is the record that the data is gone.
 */
export class Migration20261202000000CreateErasures extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE IF NOT EXISTS erasures (
        id bigserial PRIMARY KEY,
        target jsonb NOT NULL,
        event_ids jsonb NOT NULL,
        counts jsonb NOT NULL,
        actor text NOT NULL,
        erased_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql("CREATE INDEX IF NOT EXISTS erasures_erased_at_idx ON erasures (erased_at)");
  }

  override async down(): Promise<void> {
    this.addSql("DROP TABLE IF EXISTS erasures");
  }
}
