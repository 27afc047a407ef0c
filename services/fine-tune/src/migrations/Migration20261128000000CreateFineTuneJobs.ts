import { Migration } from "@mikro-orm/migrations";

/**
 * The contract table `fine_tune_jobs` (DESIGN.md) plus the ordering keys the fold
 * needs: the stream sequence of the newest snapshot and the key of the snapshot the
 * status came from (a terminal status may come from an older snapshot than the newest).
 */
export class Migration20261128000000CreateFineTuneJobs extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      CREATE TABLE IF NOT EXISTS fine_tune_jobs (
        openai_job_id text PRIMARY KEY,
        status text NOT NULL,
        model text NULL,
        fine_tuned_model text NULL,
        trained_tokens bigint NULL,
        error jsonb NULL,
        created_at timestamptz NULL,
        finished_at timestamptz NULL,
        last_event_id text NOT NULL,
        last_event_at timestamptz NOT NULL,
        last_stream_seq bigint NOT NULL,
        status_event_at timestamptz NOT NULL,
        status_stream_seq bigint NOT NULL,
        version integer NOT NULL DEFAULT 1,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    this.addSql("CREATE INDEX IF NOT EXISTS fine_tune_jobs_status_idx ON fine_tune_jobs (status)");
    this.addSql("CREATE INDEX IF NOT EXISTS fine_tune_jobs_model_idx ON fine_tune_jobs (model)");
    this.addSql(
      "CREATE INDEX IF NOT EXISTS fine_tune_jobs_listing_idx ON fine_tune_jobs ((COALESCE(created_at, 'epoch'::timestamptz)) DESC, openai_job_id DESC)",
    );
  }

  override async down(): Promise<void> {
    this.addSql("DROP TABLE IF EXISTS fine_tune_jobs");
  }
}
