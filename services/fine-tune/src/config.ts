import { boolVar, intVar } from "@hookstream/config";
import { serviceConfigSchema } from "@hookstream/runtime";
import type { z } from "zod";

/**
 * The fine-tune service's own variables; the common, database and admin ones,
 * FINE_TUNE_PORT and FINE_TUNE_HOST come from the runtime.
 */
export const fineTuneEnv = {
  /** most snapshots folded and written in one statement */
  FINE_TUNE_BATCH_SIZE: intVar(500, { min: 1, max: 5_000 }),
  FINE_TUNE_ACK_WAIT_MS: intVar(30_000, { min: 1_000 }),
  /**
   * The job API (`/fine-tune-jobs`) answers without a token only when this is true;
   * by default it asks for an admin token like the admin API (job ids, models and
   * errors are not for everyone). POST /admin/rebuild always does.
   */
  FINE_TUNE_API_PUBLIC: boolVar(false),
};

export const FineTuneConfigSchema = serviceConfigSchema("fine-tune", fineTuneEnv);
export type FineTuneConfig = z.infer<typeof FineTuneConfigSchema>;
