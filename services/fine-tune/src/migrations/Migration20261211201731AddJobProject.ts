import { Migration } from "@mikro-orm/migrations";

/**
 * `fine_tune_jobs.project`: the OpenAI project of the job's events (its snapshots'
 * `project`), filtered on by the job API and the console. A table made before has it
 * null until a newer snapshot of each job, or a rebuild, fills it in.
 */
export class Migration20261211201731AddJobProject extends Migration {
  override async up(): Promise<void> {
    this.addSql("ALTER TABLE fine_tune_jobs ADD COLUMN IF NOT EXISTS project text NULL");
    this.addSql("CREATE INDEX IF NOT EXISTS fine_tune_jobs_project_idx ON fine_tune_jobs (project)");
  }

  override async down(): Promise<void> {
    this.addSql("DROP INDEX IF EXISTS fine_tune_jobs_project_idx");
    this.addSql("ALTER TABLE fine_tune_jobs DROP COLUMN IF EXISTS project");
  }
}
