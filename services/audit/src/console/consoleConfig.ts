import { parseConfig, stringVar } from "@hookstream/config";
import { z } from "zod";

/**
 * The console's one variable of its own. Spread `consoleEnv` into the audit's
 * config schema to parse it with the rest in `main`; until then registerConsole
 * parses it itself when it is not passed in.
 */
export const consoleEnv = {
  /** where the fine-tune job API answers; the console's `/api/jobs*` forwards there */
  FINE_TUNE_URL: stringVar("http://127.0.0.1:3005").pipe(z.url("FINE_TUNE_URL must be an http(s) URL")),
};

export const ConsoleConfigSchema = z.object(consoleEnv);
export type ConsoleConfig = z.infer<typeof ConsoleConfigSchema>;

export function parseConsoleConfig(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  return parseConfig(ConsoleConfigSchema, env);
}
