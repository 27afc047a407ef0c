import { z } from "zod";
import { intVar, listVar, optionalStringVar, stringVar } from "./parseConfig";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/** docs/configuration.md, "HTTP timeouts" */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
export const DEFAULT_CONNECTION_TIMEOUT_MS = 120_000;

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
     * The max age of the REPLAY_LOCKS bucket: a bulk replay's lock on its handler that is
     * not renewed (its instance died) is gone this long after its last renewal. The holder
     * renews it every third of this.
     */
    REPLAY_LOCK_TTL_MS: intVar(30_000, { min: 3_000 }),
    /**
     * What a long-running service does with the streams at start. `verify` (the default
     * in production): nothing but check them; a missing or different stream is named in
     * the log and at /readyz, and the one-shot provisioning step (`hookstream provision`,
     * the Kubernetes Job) fixes it. `update`: change a stream whose settings differ;
     * `create`: only create missing streams and log differences. Unset outside
     * production: `update` in the gateway, `create` elsewhere (a developer machine).
     */
    STREAM_PROVISIONING: z.enum(["verify", "create", "update"]).optional(),
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
  /** `json` (default) or `pretty`: one readable line per record, for a person at a terminal */
  LOG_FORMAT: z.enum(["json", "pretty"]).optional(),
  /** the address every service's HTTP server binds (GATEWAY_HOST, AUDIT_HOST, … override it per service) */
  HTTP_HOST: stringVar("0.0.0.0"),
  /** prefixes stream and subject names; empty in production (see makeTopology) */
  HOOKSTREAM_NAMESPACE: stringVar("").pipe(
    z.string().regex(/^[a-z0-9_-]*$/i, "letters, digits, _ and - only"),
  ),
  ...streamEnv(),
  /** how long SIGTERM may take before the process exits anyway */
  SHUTDOWN_TIMEOUT_MS: intVar(15_000, { min: 100 }),
  /**
   * A request's headers and body must have arrived within this (else 408 and the
   * connection is closed): a sender that stalls mid-body cannot hold a socket. 0 = off.
   */
  HTTP_REQUEST_TIMEOUT_MS: intVar(DEFAULT_REQUEST_TIMEOUT_MS, { min: 0 }),
  /**
   * A connection on which nothing is sent or received for this long is closed. Above
   * the console's live-feed heartbeat (15 s) and the keep-alive timeout. 0 = off.
   */
  HTTP_CONNECTION_TIMEOUT_MS: intVar(DEFAULT_CONNECTION_TIMEOUT_MS, { min: 0 }),
  /**
   * `production` (the image sets it) refuses every development default: a service
   * whose secret is unset exits instead of using the public development one.
   */
  NODE_ENV: optionalStringVar(),
};

/** Admin tokens shorter than this are refused at start (a guessable token opens erasure and replay). */
export const MIN_ADMIN_TOKEN_CHARS = 16;

/** true when NODE_ENV says production: development defaults are refused. */
export function isProduction(config: { NODE_ENV?: string | undefined }): boolean {
  return config.NODE_ENV === "production";
}

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
 * Every token has at least MIN_ADMIN_TOKEN_CHARS characters. A refusal names the entry
 * by position and label, never by its text: an entry without a colon may be a token.
 */
export const adminEnv = {
  ADMIN_TOKEN: optionalStringVar().superRefine((token, ctx) => {
    if (token !== undefined && token.length < MIN_ADMIN_TOKEN_CHARS) {
      ctx.addIssue({ code: "custom", message: tokenTooShort(token) });
    }
  }),
  ADMIN_TOKENS: listVar([]).superRefine((entries, ctx) => {
    entries.forEach((e, i) => {
      const at = e.indexOf(":");
      const label = e.slice(0, at);
      if (at <= 0 || !/^[A-Za-z0-9_.@-]+$/.test(label) || at === e.length - 1) {
        ctx.addIssue({
          code: "custom",
          message: `entry ${i + 1} must read label:token (a label of letters, digits, _ . @ -, a colon, the token); the entry is not shown`,
        });
        return;
      }
      const token = e.slice(at + 1);
      if (token.length < MIN_ADMIN_TOKEN_CHARS) {
        ctx.addIssue({ code: "custom", message: `entry ${i + 1} ("${label}"): ${tokenTooShort(token)}` });
      }
    });
  }),
  /**
   * Development only (`npm start` sets it, production ignores it): the file holding the
   * development admin token, named in the answer to a request without a token so the
   * console's sign-in page can say where the token is.
   */
  HOOKSTREAM_DEV_TOKEN_FILE: optionalStringVar(),
  /** failed admin authentications allowed per client address at once, then per second */
  ADMIN_FAILURE_BURST: intVar(20, { min: 1 }),
  ADMIN_FAILURES_PER_SEC: intVar(1, { min: 1 }),
};

function tokenTooShort(token: string): string {
  return `the token has ${token.length} characters; at least ${MIN_ADMIN_TOKEN_CHARS} are needed (e.g. openssl rand -hex 24)`;
}

export function portVar(defaultPort: number) {
  return intVar(defaultPort, { min: 0, max: 65535 });
}

/**
 * The secret used when OPENAI_WEBHOOK_SECRET is unset, so that `npm start` and
 * `hookstream send` work together on a developer machine out of the box. The
 * gateway logs a warning while it is in use; never use it in production.
 */
export const DEV_WEBHOOK_SECRET = `whsec_${Buffer.from("hookstream-development-secret!!").toString("base64")}`;
