import { Migration } from "@mikro-orm/migrations";

/**
 * `erasures.resume`: what an erasure cut short by a stream scan's bound keeps for the run
 * that finishes it (event ids, types, jobs, where each scan stopped; never a payload),
 * since that run no longer finds the audit rows. Null once a run of the target finished.
 */
export class Migration20261206231027ErasureResume extends Migration {
  override async up(): Promise<void> {
    this.addSql("ALTER TABLE erasures ADD COLUMN IF NOT EXISTS resume jsonb");
  }

  override async down(): Promise<void> {
    this.addSql("ALTER TABLE erasures DROP COLUMN IF EXISTS resume");
  }
}
