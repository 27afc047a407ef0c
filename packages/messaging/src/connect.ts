import { readFileSync } from "node:fs";
import {
  type ConnectionOptions,
  connect,
  credsAuthenticator,
  type NatsConnection,
} from "@nats-io/transport-node";
import type { Logger } from "pino";

/**
 * How a service proves who it is to NATS and how it encrypts the connection. Every
 * field is optional: a developer machine connects to an open local server with none.
 */
export interface NatsSecurity {
  /** NATS_CREDS: a `.creds` file (user JWT + nkey seed), read again on every reconnect */
  credsFile?: string;
  /** NATS_TLS_CA: the CA that signed the server's certificate (turns TLS on) */
  tlsCaFile?: string;
  /** NATS_TLS_CERT / NATS_TLS_KEY: a client certificate, for servers that verify clients */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /**
   * NATS_INBOX_PREFIX: the prefix of this connection's reply subjects (`_INBOX` by
   * default). Giving each role its own (`_INBOX_gateway`) lets the server's
   * permissions stop one service from reading the replies, pulled messages
   * included, meant for another (deploy/nats/accounts.conf).
   */
  inboxPrefix?: string;
}

export interface ConnectOptions extends NatsSecurity {
  /** server URLs as NATS_URL gives them; `nats://user:pass@host` and `nats://token@host` carry credentials */
  servers: string[];
  name: string;
  logger: Logger;
  /** give up the first connection after this long; later outages are retried forever */
  connectTimeoutMs?: number;
}

/** The NATS part of a parsed service config (packages/config `commonEnv`). */
export interface NatsSecurityEnv {
  NATS_CREDS?: string | undefined;
  NATS_TLS_CA?: string | undefined;
  NATS_TLS_CERT?: string | undefined;
  NATS_TLS_KEY?: string | undefined;
  NATS_INBOX_PREFIX?: string | undefined;
}

/** `connectNats({ servers: config.NATS_URL, name, logger, ...natsSecurityFromEnv(config) })` */
export function natsSecurityFromEnv(env: NatsSecurityEnv): NatsSecurity {
  return {
    credsFile: env.NATS_CREDS || undefined,
    tlsCaFile: env.NATS_TLS_CA || undefined,
    tlsCertFile: env.NATS_TLS_CERT || undefined,
    tlsKeyFile: env.NATS_TLS_KEY || undefined,
    inboxPrefix: env.NATS_INBOX_PREFIX || undefined,
  };
}

export interface ParsedServers {
  /** the URLs without their credentials (they end up in logs and in `nc.getServer()`) */
  servers: string[];
  user?: string;
  pass?: string;
  token?: string;
  /** a `tls://` URL asks for TLS even without a CA file (the server's certificate is then checked against the system CAs) */
  tls: boolean;
}

/**
 * Takes the credentials out of the server URLs. nats.js 3 ignores a URL's userinfo
 * (its `hostPort()` in nats-core keeps only host and port), unlike the Go client and
 * the `nats` CLI, so `nats://user:pass@host` would silently connect anonymously.
 * A user with a password is user/password auth; a user alone is a token, as in the
 * other NATS clients. Every URL that carries credentials must carry the same ones.
 */
export function parseNatsServers(urls: string[]): ParsedServers {
  let auth: { user?: string; pass?: string; token?: string } | null = null;
  let tls = false;
  const servers = urls.map((raw) => {
    const url = new URL(raw.includes("://") ? raw : `nats://${raw}`);
    if (url.protocol === "tls:") tls = true;
    if (url.username || url.password) {
      const user = decodeURIComponent(url.username);
      const pass = decodeURIComponent(url.password);
      const found = url.password ? { user, pass } : { token: user };
      if (auth !== null && JSON.stringify(auth) !== JSON.stringify(found)) {
        throw new Error("NATS_URL: every server URL that carries credentials must carry the same ones");
      }
      auth = found;
    }
    return `${url.protocol}//${url.host}`;
  });
  return { servers, tls, ...(auth ?? {}) };
}

/** The nats.js connection options for the given servers and security settings (pure: reads no file). */
export function natsConnectionOptions(opts: Omit<ConnectOptions, "logger">): ConnectionOptions {
  const parsed = parseNatsServers(opts.servers);
  if (Boolean(opts.tlsCertFile) !== Boolean(opts.tlsKeyFile)) {
    throw new Error("NATS_TLS_CERT and NATS_TLS_KEY go together: set both or neither");
  }
  if (opts.credsFile && (parsed.user || parsed.token)) {
    throw new Error("NATS_CREDS and credentials in NATS_URL exclude each other: use one");
  }
  const useTls = parsed.tls || Boolean(opts.tlsCaFile || opts.tlsCertFile);
  const credsFile = opts.credsFile;
  return {
    servers: parsed.servers,
    name: opts.name,
    ...(parsed.user !== undefined ? { user: parsed.user, pass: parsed.pass } : {}),
    ...(parsed.token !== undefined ? { token: parsed.token } : {}),
    // a function, so that a rotated creds file (a remounted Secret) applies on the next reconnect
    ...(credsFile ? { authenticator: credsAuthenticator(() => readFileSync(credsFile)) } : {}),
    ...(useTls
      ? {
          tls: {
            ...(opts.tlsCaFile ? { caFile: opts.tlsCaFile } : {}),
            ...(opts.tlsCertFile ? { certFile: opts.tlsCertFile, keyFile: opts.tlsKeyFile } : {}),
          },
        }
      : {}),
    ...(opts.inboxPrefix ? { inboxPrefix: opts.inboxPrefix } : {}),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 250,
    pingInterval: 5_000,
    maxPingOut: 2,
    timeout: opts.connectTimeoutMs ?? 10_000,
    waitOnFirstConnect: false,
    noAsyncTraces: true,
  };
}

/**
 * Connects and keeps reconnecting forever: an outage of NATS delays work, it never
 * ends a process. `noAsyncTraces` skips capturing a stack per request (measured
 * ~2× publish throughput here; docs/architecture.md, "Platform notes"). A refused login
 * or a permission error is logged with the server's reason, so a wrong role shows up in
 * the service's log.
 */
export async function connectNats({ logger, ...opts }: ConnectOptions): Promise<NatsConnection> {
  if (opts.credsFile) readFileSync(opts.credsFile); // fail at start, naming the file, not at the first reconnect
  const nc = await connect(natsConnectionOptions(opts));
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect" || s.type === "error") {
        const detail = s.type === "error" ? { err: s.error.message } : {};
        logger.warn(
          { nats: s.type, server: "server" in s ? s.server : undefined, ...detail },
          `nats ${s.type}`,
        );
      }
    }
  })().catch(() => {});
  logger.info({ server: nc.getServer(), auth: authKind(opts) }, "connected to NATS");
  return nc;
}

function authKind(opts: Omit<ConnectOptions, "logger">): string {
  if (opts.credsFile) return "creds";
  const parsed = parseNatsServers(opts.servers);
  if (parsed.user !== undefined) return "user";
  if (parsed.token !== undefined) return "token";
  return "none";
}
