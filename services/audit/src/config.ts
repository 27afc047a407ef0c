import { commonEnv, databaseEnv, intVar, optionalStringVar, portVar } from "@hookstream/config";
import { z } from "zod";

export const AuditConfigSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  AUDIT_PORT: portVar(3001),
  /** bearer token of the admin API; unset: the admin routes answer 503 */
  ADMIN_TOKEN: optionalStringVar(),
  /** most messages written in one INSERT (17 parameters each, Postgres allows 65535) */
  AUDIT_BATCH_SIZE: intVar(500, { min: 1, max: 3_000 }),
  /** longest nak delay while Postgres is away; deliveries are unlimited */
  AUDIT_MAX_NAK_DELAY_MS: intVar(5_000, { min: 10 }),
  AUDIT_ACK_WAIT_MS: intVar(30_000, { min: 1_000 }),
  DB_POOL_MAX: intVar(10, { min: 1 }),
});
export type AuditConfig = z.infer<typeof AuditConfigSchema>;
