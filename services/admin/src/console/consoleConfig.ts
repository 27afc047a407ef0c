import { intVar, parseConfig, stringVar } from "@hookstream/config";
import { z } from "zod";

/** The live feed's bounds per instance (docs/security.md, "Live feed"). */
export interface LiveLimits {
  maxConnections: number;
  maxBufferBytes: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = { maxConnections: 100, maxBufferBytes: 1024 * 1024 };

/**
 * The console's variables of its own. Spread `consoleEnv` into the admin's
 * config schema to parse it with the rest in `main`; until then registerConsole
 * parses it itself when it is not passed in.
 */
export const consoleEnv = {
  /** where the fine-tune job API answers; the console's `/api/jobs*` forwards there */
  FINE_TUNE_URL: stringVar("http://127.0.0.1:3005").pipe(z.url("FINE_TUNE_URL must be an http(s) URL")),
  /** where the delivery service answers; the console's `/api/destinations*` forwards there */
  DELIVERY_URL: stringVar("http://127.0.0.1:3007").pipe(z.url("DELIVERY_URL must be an http(s) URL")),
  /** live-feed (server-sent events) connections one instance holds at once; more answer 503 */
  LIVE_MAX_CONNECTIONS: intVar(DEFAULT_LIVE_LIMITS.maxConnections, { min: 1 }),
  /** bytes waiting for one live-feed client before it is dropped as not reading */
  LIVE_MAX_BUFFER_BYTES: intVar(DEFAULT_LIVE_LIMITS.maxBufferBytes, { min: 1024 }),
};

export const ConsoleConfigSchema = z.object(consoleEnv);
export type ConsoleConfig = z.infer<typeof ConsoleConfigSchema>;

export function parseConsoleConfig(env: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  return parseConfig(ConsoleConfigSchema, env);
}
