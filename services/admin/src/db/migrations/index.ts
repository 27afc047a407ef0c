import type { MigrationEntry } from "@hookstream/db";
import { Migration20261202000000CreateErasures } from "./Migration20261202000000CreateErasures";
import { Migration20261206231027ErasureResume } from "./Migration20261206231027ErasureResume";

/**
 * Every migration of the admin service, in order. `erasures` was created by the audit
 * before the operator's surface moved here: the migration keeps its name and creates the
 * table only if it is missing, so a fresh database and one the audit migrated both work.
 * The admin reads `webhook_events`, `webhook_attempts` and `webhook_deliveries`, whose
 * migrations stay with their writer, the audit.
 */
export const ADMIN_MIGRATIONS: MigrationEntry[] = [
  { name: "Migration20261202000000CreateErasures", class: Migration20261202000000CreateErasures },
  { name: "Migration20261206231027ErasureResume", class: Migration20261206231027ErasureResume },
];
