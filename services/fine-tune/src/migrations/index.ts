import type { MigrationEntry } from "@hookstream/db";
import { Migration20261128000000CreateFineTuneJobs } from "./Migration20261128000000CreateFineTuneJobs";
import { Migration20261211201731AddJobProject } from "./Migration20261211201731AddJobProject";

/** Every migration of the fine-tune service, in order (listed explicitly: docs/architecture.md, "Platform notes"). */
export const FINE_TUNE_MIGRATIONS: MigrationEntry[] = [
  { name: "Migration20261128000000CreateFineTuneJobs", class: Migration20261128000000CreateFineTuneJobs },
  { name: "Migration20261211201731AddJobProject", class: Migration20261211201731AddJobProject },
];
