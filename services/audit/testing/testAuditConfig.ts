import { parseConfig } from "@hookstream/config";
import type { Topology } from "@hookstream/contracts";
import { type AuditConfig, AuditConfigSchema } from "../src/config";

/** Config of an audit under test: its own namespace and database, short nak delays. */
export function testAuditConfig(opts: {
  natsUrl: string;
  databaseUrl: string;
  topology: Topology;
  adminToken?: string;
}): AuditConfig {
  return parseConfig(AuditConfigSchema, {
    NATS_URL: opts.natsUrl,
    DATABASE_URL: opts.databaseUrl,
    HOOKSTREAM_NAMESPACE: opts.topology.namespace,
    ADMIN_TOKEN: opts.adminToken,
    AUDIT_MAX_NAK_DELAY_MS: "400",
    AUDIT_ACK_WAIT_MS: "5000",
    LOG_LEVEL: "silent",
    DB_POOL_MAX: "4",
  });
}
