import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { natsInboxPrefix, natsPasswordVar, natsRoles } from "@hookstream/contracts";
import { connectNats, natsSecurityFromEnv } from "@hookstream/messaging";
import { freePort, spawnWatched, type WatchedProcess, waitForPort } from "@hookstream/testing";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";

/**
 * A nats-server of a test's own (a free port, its own store dir) running the shipped
 * deploy/nats/accounts.conf, every user's password a fresh one from its environment
 * variable, as the cluster passes them. Shared by the NATS tests of tests/deploy.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const logger = pino({ level: "silent" });

export interface AccountsServer {
  port: number;
  /** the store dir and the config files live here; removed by stop() */
  dir: string;
  /** every user of the catalog (a service's role or the operators') */
  users: string[];
  password(user: string): string;
  /** `nats://user:password@127.0.0.1:port` (the password percent-encoded) */
  url(user: string, password?: string): string;
  /** what a service needs to log in as a role: NATS_URL with its credentials and its NATS_INBOX_PREFIX */
  envFor(user: string): { NATS_URL: string; NATS_INBOX_PREFIX: string };
  /** connects as a service does (connectNats), with the role's inbox prefix unless told otherwise */
  connect(user: string, opts?: { inboxPrefix?: string; name?: string }): Promise<NatsConnection>;
  watched: WatchedProcess;
  /** closes what connect() opened, kills the server and removes its files */
  stop(): Promise<void>;
}

/**
 * nats-server resolves includes relative to the config file, so the accounts file sits
 * beside it. A server that refuses the config (an unset password variable) fails the
 * start with its own words.
 */
export async function startAccountsServer(label: string): Promise<AccountsServer> {
  const dir = mkdtempSync(join(tmpdir(), `hs-${label}-`));
  const users = natsRoles().map((r) => r.user);
  // nats-server parses a variable's value as a config value: a password starting with a
  // digit ("1e5…") would not be read as a string, so each one starts with a letter
  const passwords = new Map(users.map((u) => [u, `pw${randomBytes(12).toString("hex")}`]));
  const password = (user: string) => passwords.get(user) ?? "";
  copyFileSync(join(ROOT, "deploy", "nats", "accounts.conf"), join(dir, "accounts.conf"));
  const port = await freePort();
  writeFileSync(
    join(dir, "server.conf"),
    [
      `listen: 127.0.0.1:${port}`,
      `jetstream { store_dir: "${join(dir, "store")}" }`,
      "include ./accounts.conf",
      "",
    ].join("\n"),
  );
  const watched = spawnWatched(
    "nats-server (deploy/nats/accounts.conf)",
    "nats-server",
    ["-c", join(dir, "server.conf")],
    { env: { ...process.env, ...Object.fromEntries(users.map((u) => [natsPasswordVar(u), password(u)])) } },
  );
  await waitForPort(port, 15_000, watched);
  const open: NatsConnection[] = [];
  const url = (user: string, pw = password(user)) =>
    `nats://${user}:${encodeURIComponent(pw)}@127.0.0.1:${port}`;
  return {
    port,
    dir,
    users,
    password,
    url,
    envFor: (user) => ({ NATS_URL: url(user), NATS_INBOX_PREFIX: natsInboxPrefix(user) }),
    async connect(user, opts = {}) {
      const nc = await connectNats({
        servers: [url(user)],
        name: opts.name ?? `${label}-${user}`,
        logger,
        connectTimeoutMs: 5_000,
        ...natsSecurityFromEnv({ NATS_INBOX_PREFIX: opts.inboxPrefix ?? natsInboxPrefix(user) }),
      });
      open.push(nc);
      return nc;
    },
    watched,
    async stop() {
      await Promise.all(open.map((nc) => nc.close().catch(() => {})));
      const child = watched.child;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
