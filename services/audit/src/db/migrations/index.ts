import type { MigrationEntry } from "@hookstream/db";
import { Migration20261128000000CreateWebhookEvents } from "./Migration20261128000000CreateWebhookEvents";
import { Migration20261201000000CreateWebhookAttempts } from "./Migration20261201000000CreateWebhookAttempts";
import { Migration20261210000000AddEventProvider } from "./Migration20261210000000AddEventProvider";
import { Migration20261210000001CreateWebhookDeliveries } from "./Migration20261210000001CreateWebhookDeliveries";
import { Migration20261211201730AddEventProject } from "./Migration20261211201730AddEventProject";
import { Migration20261216201512EventIdentityIsProviderAndId } from "./Migration20261216201512EventIdentityIsProviderAndId";
import { Migration20261216213500AddDeliveryDestination } from "./Migration20261216213500AddDeliveryDestination";

/**
 * Every migration of the audit service, in order (listed explicitly: docs/architecture.md, "Platform notes").
 * `Migration20261202000000CreateErasures` ran here before the admin service existed: the
 * `erasures` table is the admin's now (services/admin, same migration, `IF NOT EXISTS`), and
 * an existing database that still lists it in the audit's history is left as it is.
 */
export const AUDIT_MIGRATIONS: MigrationEntry[] = [
  { name: "Migration20261128000000CreateWebhookEvents", class: Migration20261128000000CreateWebhookEvents },
  {
    name: "Migration20261201000000CreateWebhookAttempts",
    class: Migration20261201000000CreateWebhookAttempts,
  },
  { name: "Migration20261210000000AddEventProvider", class: Migration20261210000000AddEventProvider },
  {
    name: "Migration20261210000001CreateWebhookDeliveries",
    class: Migration20261210000001CreateWebhookDeliveries,
  },
  { name: "Migration20261211201730AddEventProject", class: Migration20261211201730AddEventProject },
  {
    name: "Migration20261216201512EventIdentityIsProviderAndId",
    class: Migration20261216201512EventIdentityIsProviderAndId,
  },
  {
    name: "Migration20261216213500AddDeliveryDestination",
    class: Migration20261216213500AddDeliveryDestination,
  },
];
