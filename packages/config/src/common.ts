import { z } from "zod";
import { intVar, listVar, optionalStringVar, stringVar } from "./parseConfig";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

const HOUR_MS = 60 * 60 * 1000;
const DAY_MS = 24 * HOUR_MS;

/**
 * The stream settings. Every service parses these same variables (one truth): a
 * service creates a missing stream with them, and only the gateway, the streams'
 * owner, changes an existing stream to match them (STREAM_PROVISIONING overrides).
 */
function streamEnv() {
  return {
    /** replicas of every stream: 1 on one server, 3 in a cluster */
    STREAM_REPLICAS: intVar(1, { min: 1, max: 5 }),
    /** how long an event id is remembered for dedup */
    WEBHOOK_DUPLICATE_WINDOW_MS: intVar(2 * HOUR_MS, { min: 1000 }),
    /** how long WEBHOOKS keeps events */
    WEBHOOK_MAX_AGE_MS: intVar(30 * DAY_MS, { min: 60_000 }),
    /** WEBHOOK_OUTCOMES, WEBHOOK_REPLAYS and WEBHOOK_ADVISORIES; 0 = forever */
    OUTCOMES_MAX_AGE_MS: intVar(30 * DAY_MS, { min: 0 }),
    /** WEBHOOK_DLQ; 0 = forever */
    DLQ_MAX_AGE_MS: intVar(90 * DAY_MS, { min: 0 }),
    /** FINE_TUNING; 0 = forever (a rebuild of the projection only sees what the stream keeps) */
    FINE_TUNING_MAX_AGE_MS: intVar(0, { min: 0 }),
    /** FINE_TUNING snapshots kept per job (the newest); -1 = no limit */
    FINE_TUNING_MAX_PER_JOB: intVar(100, { min: -1 }),
    /**
     * `update`: change a stream whose settings differ; `create`: only create missing
     * streams and log differences. Unset: `update` in the gateway, `create` elsewhere.
     */
    STREAM_PROVISIONING: z.enum(["create", "update"]).optional(),
  };
}

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
  /** the address every service's HTTP server binds (GATEWAY_HOST, AUDIT_HOST, … override it per service) */
  HTTP_HOST: stringVar("0.0.0.0"),
  /** prefixes stream and subject names; empty in production (see makeTopology) */
  HOOKSTREAM_NAMESPACE: stringVar("").pipe(
    z.string().regex(/^[a-z0-9_-]*$/i, "letters, digits, _ and - only"),
  ),
  ...streamEnv(),
  /** how long SIGTERM may take before the process exits anyway */
  SHUTDOWN_TIMEOUT_MS: intVar(15_000, { min: 100 }),
};

export const databaseEnv = {
  DATABASE_URL: stringVar("postgres://postgres@127.0.0.1:5432/hookstream").pipe(
    z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL"),
  ),
  /** connections in the pool of one instance */
  DB_POOL_MAX: intVar(10, { min: 1 }),
  /**
   * `auto`: create the database if missing and migrate at start (one machine);
   * `skip`: neither (a migration Job ran them: Kubernetes); `only`: migrate, then exit 0.
   */
  MIGRATIONS: z.enum(["auto", "skip", "only"]).optional().default("auto"),
};

/**
 * The admin API (audit, fine-tune). `ADMIN_TOKEN` is one bearer token; `ADMIN_TOKENS`
 * adds labelled ones (`ops:tok1,alice:tok2`) whose label is recorded with what they do.
 */
export const adminEnv = {
  ADMIN_TOKEN: optionalStringVar(),
  ADMIN_TOKENS: listVar([]).superRefine((entries, ctx) => {
    for (const e of entries) {
      if (!/^[A-Za-z0-9_.@-]+:.+$/.test(e)) {
        ctx.addIssue({ code: "custom", message: `"${e.split(":")[0]}:…" must be label:token` });
      }
    }
  }),
  /** failed admin authentications allowed per client address at once, then per second */
  ADMIN_FAILURE_BURST: intVar(20, { min: 1 }),
  ADMIN_FAILURES_PER_SEC: intVar(1, { min: 1 }),
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
