import { z } from "zod";
import { intVar, listVar, optionalStringVar, stringVar } from "./parseConfig";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** Variables every service reads (contract defaults: a developer machine with local NATS and Postgres). */
export const commonEnv = {
  /** `nats://user:pass@host:4222` or `nats://token@host:4222` carry credentials (deploy/README.md) */
  NATS_URL: listVar(["nats://127.0.0.1:4222"]),
  /** path of a NATS `.creds` file (JWT + nkey seed); excludes credentials in NATS_URL */
  NATS_CREDS: optionalStringVar(),
  /** path of the CA certificate that signed the NATS server's (turns TLS on) */
  NATS_TLS_CA: optionalStringVar(),
  /** client certificate and key for servers that verify clients (both or neither) */
  NATS_TLS_CERT: optionalStringVar(),
  NATS_TLS_KEY: optionalStringVar(),
  /** reply-subject prefix; one per role (`_INBOX_gateway`) so permissions keep replies apart */
  NATS_INBOX_PREFIX: stringVar("_INBOX").pipe(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, "a subject without wildcards, e.g. _INBOX_gateway"),
  ),
  LOG_LEVEL: z.enum(LOG_LEVELS).optional().default("info"),
  /** prefixes stream and subject names; empty in production (see makeTopology) */
  HOOKSTREAM_NAMESPACE: stringVar("").pipe(
    z.string().regex(/^[a-z0-9_-]*$/i, "letters, digits, _ and - only"),
  ),
  /** replicas of every stream: 1 on one server, 3 in a cluster */
  STREAM_REPLICAS: intVar(1, { min: 1, max: 5 }),
  /** how long SIGTERM may take before the process exits anyway */
  SHUTDOWN_TIMEOUT_MS: intVar(15_000, { min: 100 }),
};

export const databaseEnv = {
  DATABASE_URL: stringVar("postgres://postgres@127.0.0.1:5432/hookstream").pipe(
    z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  ),
};

export function portVar(defaultPort: number) {
  return intVar(defaultPort, { min: 0, max: 65535 });
}

/**
 * The secret used when OPENAI_WEBHOOK_SECRET is unset, so that `npm start` and
 * `hookstream send` work together on a developer machine out of the box. The
 * gateway logs a warning while it is in use; never use it in production.
 */
export const DEV_WEBHOOK_SECRET = `whsec_${Buffer.from("hookstream-development-secret!!").toString("base64")}`;
