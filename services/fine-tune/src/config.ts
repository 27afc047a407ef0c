import { commonEnv, databaseEnv, intVar, optionalStringVar, portVar, stringVar } from "@hookstream/config";
import { z } from "zod";

export const FineTuneConfigSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  FINE_TUNE_PORT: portVar(3005),
  HTTP_HOST: stringVar("0.0.0.0"),
  /** most snapshots folded and written in one statement */
  FINE_TUNE_BATCH_SIZE: intVar(500, { min: 1, max: 5_000 }),
  FINE_TUNE_ACK_WAIT_MS: intVar(30_000, { min: 1_000 }),
  DB_POOL_MAX: intVar(10, { min: 1 }),
  /** bearer token of POST /admin/rebuild; unset: the route answers 503 */
  ADMIN_TOKEN: optionalStringVar(),
});
export type FineTuneConfig = z.infer<typeof FineTuneConfigSchema>;
