import type { MigrationEntry } from "@hookstream/db";
import { Migration20261128000000CreateWebhookEvents } from "./Migration20261128000000CreateWebhookEvents";

/** Every migration of the audit service, in order (listed explicitly: STACK.md). */
export const AUDIT_MIGRATIONS: MigrationEntry[] = [
  { name: "Migration20261128000000CreateWebhookEvents", class: Migration20261128000000CreateWebhookEvents },
];
