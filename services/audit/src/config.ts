import { intVar } from "@hookstream/config";
import { serviceConfigSchema } from "@hookstream/runtime";
import { z } from "zod";

/**
 * The audit's own variables; the common, database and admin ones, AUDIT_PORT and
 * AUDIT_HOST come from the runtime.
 */
export const auditEnv = {
  /** most messages written in one INSERT (17 parameters each, Postgres allows 65535) */
  AUDIT_BATCH_SIZE: intVar(2_000, { min: 1, max: 5_000 }),
  /** batches written at once per instance, each on its own connection (decoding overlaps Postgres's work) */
  AUDIT_WRITERS: intVar(2, { min: 1, max: 8 }),
  /** longest nak delay while Postgres is away; deliveries are unlimited */
  AUDIT_MAX_NAK_DELAY_MS: intVar(5_000, { min: 10 }),
  AUDIT_ACK_WAIT_MS: intVar(30_000, { min: 1_000 }),
  /** audit rows older than this many days are deleted (decimals allowed); unset: kept forever */
  AUDIT_RETENTION_DAYS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      const n = Number(v);
      if (!Number.isFinite(n) || n <= 0) {
        ctx.addIssue({
          code: "custom",
          message: `must be a number of days > 0 (unset keeps rows forever), got "${v}"`,
        });
        return z.NEVER;
      }
      return n;
    }),
  /** how often the retention pass runs */
  AUDIT_RETENTION_INTERVAL_MS: intVar(3_600_000, { min: 1_000 }),
  /** rows deleted per statement: each is its own short transaction */
  AUDIT_RETENTION_BATCH_SIZE: intVar(1_000, { min: 1, max: 50_000 }),
  /** pause between two batches, so the deletes never crowd out the audit's inserts */
  AUDIT_RETENTION_PAUSE_MS: intVar(200, { min: 0 }),
};

export const AuditConfigSchema = serviceConfigSchema("audit", auditEnv);
export type AuditConfig = z.infer<typeof AuditConfigSchema>;
