import { serviceConfigSchema } from "@hookstream/runtime";
import type { z } from "zod";
import { consoleEnv } from "./console/consoleConfig";

/**
 * The admin service's own variables (FINE_TUNE_URL, for the console's job pages); the
 * common, database and admin ones (ADMIN_TOKEN: unset, the admin API and the console
 * answer 503), ADMIN_PORT and ADMIN_HOST come from the runtime.
 */
export const adminEnv = {
  ...consoleEnv,
};

export const AdminConfigSchema = serviceConfigSchema("admin", adminEnv);
export type AdminConfig = z.infer<typeof AdminConfigSchema>;
