import { Migration } from "@mikro-orm/migrations";
import { jobsTableDdl } from "../jobsTableDdl";

/**
 * The contract table `fine_tune_jobs` (docs/architecture.md, "Tables") plus the ordering keys the fold
 * needs: the stream sequence of the newest snapshot and the key of the snapshot the
 * status came from (a terminal status may come from an older snapshot than the newest).
 */
export class Migration20261128000000CreateFineTuneJobs extends Migration {
  override async up(): Promise<void> {
    for (const sql of jobsTableDdl("fine_tune_jobs")) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql("DROP TABLE IF EXISTS fine_tune_jobs");
  }
}
