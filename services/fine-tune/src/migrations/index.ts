import type { MigrationEntry } from "@hookstream/db";
import { Migration20261128000000CreateFineTuneJobs } from "./Migration20261128000000CreateFineTuneJobs";

/** Every migration of the fine-tune service, in order (listed explicitly: docs/architecture.md, "Platform notes"). */
export const FINE_TUNE_MIGRATIONS: MigrationEntry[] = [
  { name: "Migration20261128000000CreateFineTuneJobs", class: Migration20261128000000CreateFineTuneJobs },
];
