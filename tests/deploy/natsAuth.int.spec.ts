import { type ChildProcess, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTopology, natsPasswordVar, natsRoles } from "@hookstream/contracts";
import { readStream } from "@hookstream/fine-tune";
import {
  connectNats,
  DEFAULT_STREAM_OPTIONS,
  ensureBuckets,
  ensureConsumer,
  natsSecurityFromEnv,
  provisionStreams,
} from "@hookstream/messaging";
import { freePort, spawnWatched, waitForPort } from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * deploy/nats/accounts.conf on a nats-server of this file's own (free ports, its
 * own store): each role connects the way a service does (`connectNats` with the
 * credentials in NATS_URL and its NATS_INBOX_PREFIX), and what a role must not do
 * is refused by the server.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** every user of the catalog (a service's role, or the operators'): the server needs each one's password */
const ROLES = natsRoles().map((r) => r.user);
type Role = string;
// nats-server parses a variable's value as a config value: a password starting with a
// digit ("1e5…") would not be read as a string, so each one starts with a letter
const passwords: Record<Role, string> = Object.fromEntries(
  ROLES.map((r) => [r, `pw${randomBytes(12).toString("hex")}`]),
);
const topology = makeTopology("");
const logger = pino({ level: "silent" });

const dir = mkdtempSync(join(tmpdir(), "hs-natsauth-"));
let server: ChildProcess;
let port: number;
const open: NatsConnection[] = [];

/**
 * nats-server resolves includes relative to the config file, so the accounts file sits
 * beside it. A server that refuses the config (an unset password variable) fails the
 * test with its own words.
 */
async function startServer(
  conf: string,
  env: Record<string, string>,
  listenPort: number,
): Promise<ChildProcess> {
  writeFileSync(join(dir, "server.conf"), conf);
  const server = spawnWatched(
    "nats-server (deploy/nats/accounts.conf)",
    "nats-server",
    ["-c", join(dir, "server.conf")],
    {
      env: { ...process.env, ...env },
    },
  );
  await waitForPort(listenPort, 15_000, server);
  return server.child;
}

function urlFor(role: Role, password = passwords[role] ?? ""): string {
  return `nats://${role}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
}

async function connectAs(role: Role, inboxPrefix = `_INBOX_${role}`): Promise<NatsConnection> {
  const nc = await connectNats({
    servers: [urlFor(role)],
    name: `natsauth-${role}`,
    logger,
    connectTimeoutMs: 5_000,
    ...natsSecurityFromEnv({ NATS_INBOX_PREFIX: inboxPrefix }),
  });
  open.push(nc);
  return nc;
}

beforeAll(async () => {
  copyFileSync(join(ROOT, "deploy", "nats", "accounts.conf"), join(dir, "accounts.conf"));
  port = await freePort();
  server = await startServer(
    [
      `listen: 127.0.0.1:${port}`,
      `jetstream { store_dir: "${join(dir, "store")}" }`,
      "include ./accounts.conf",
      "",
    ].join("\n"),
    Object.fromEntries(ROLES.map((r) => [natsPasswordVar(r), passwords[r] ?? ""])),
    port,
  );
});

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => {})));
  server?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("deploy/nats/accounts.conf", () => {
  it("lets admin provision the streams, the gateway not, and the gateway publish an event through JetStream", async () => {
    const admin = await connectAs("admin");
    const made = await provisionStreams(await jetstreamManager(admin), topology, DEFAULT_STREAM_OPTIONS);
    expect(made.map((r) => r.action)).toEqual(made.map(() => "created"));
    const nc = await connectAs("gateway");
    // a denied JetStream API call answers nothing: it times out
    await expect(
      (await jetstreamManager(nc, { timeout: 2_000 })).streams.add({ name: "GW_STREAM", subjects: ["gw.>"] }),
    ).rejects.toThrow(/timeout|permission/i);
    const ack = await jetstream(nc).publish("webhooks.openai.batch.completed", '{"id":"evt_1"}', {
      msgID: "evt_1",
    });
    expect(ack.stream).toBe("WEBHOOKS");
    expect(ack.duplicate).toBe(false);
  });

  it("lets the batch handler consume its durable, ack, and publish its outcome", async () => {
    const nc = await connectAs("batch");
    const jsm = await jetstreamManager(nc);
    await ensureConsumer(jsm, {
      stream: "WEBHOOKS",
      durable: "batch",
      filterSubject: "webhooks.openai.batch.>",
      maxDeliver: 5,
      ackWaitMs: 30_000,
    });
    const js = jetstream(nc);
    const msg = await (await js.consumers.get("WEBHOOKS", "batch")).next({ expires: 5_000 });
    expect(msg?.subject).toBe("webhooks.openai.batch.completed");
    expect(await msg?.ackAck()).toBe(true);
    const ack = await js.publish("outcomes.batch.processed", '{"eventId":"evt_1"}');
    expect(ack.stream).toBe("WEBHOOK_OUTCOMES");
  });

  it("lets the fine-tune service replay FINE_TUNING for a rebuild (its own consumer, removed after)", async () => {
    const writer = jetstream(await connectAs("fine-tuning"));
    for (let i = 1; i <= 3; i++) await writer.publish("fine_tuning.jobs.ftjob-auth", `{"n":${i}}`);
    const nc = await connectAs("fine-tune");
    const js = jetstream(nc);
    const info = await (await jetstreamManager(nc)).streams.info("FINE_TUNING");
    const seen: string[] = [];
    const n = await readStream(
      js,
      "FINE_TUNING",
      { fromSeq: info.state.first_seq, toSeq: info.state.last_seq },
      (m) => {
        seen.push(m.string());
      },
    );
    expect(n).toBe(info.state.messages);
    expect(seen.slice(-3)).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    const admin = await jetstreamManager(await connectAs("admin"));
    expect(
      (await admin.consumers.list("FINE_TUNING").next()).filter((c) => c.name.startsWith("replay-")),
    ).toEqual([]);
  });

  it("lets the delivery service use the KV bucket the provisioning step made, and create none", async () => {
    const js = jetstream(await connectAs("delivery"));
    // verify mode (production): opens the bucket, never creates it
    const kv = await ensureBuckets(js, topology, DEFAULT_STREAM_OPTIONS, { mode: "verify", pollMs: 50 });
    await kv.put("probe", "1");
    expect((await kv.get("probe"))?.string()).toBe("1");
    await expect(new Kvm(js).create("NOT_PROVISIONED")).rejects.toThrow(/permission/i);
  });

  it("refuses a handler that publishes to webhooks.>", async () => {
    const nc = await connectAs("batch");
    await expect(
      jetstream(nc).publish("webhooks.openai.batch.completed", "{}", { timeout: 2_000 }),
    ).rejects.toThrow(/permission/i);
  });

  it("refuses a handler that publishes another handler's outcomes", async () => {
    const nc = await connectAs("batch");
    await expect(
      jetstream(nc).publish("outcomes.response.processed", "{}", { timeout: 2_000 }),
    ).rejects.toThrow(/permission/i);
  });

  it("refuses a service that deletes a stream (only admin may)", async () => {
    const nc = await connectAs("audit");
    await expect((await jetstreamManager(nc, { timeout: 2_000 })).streams.delete("WEBHOOKS")).rejects.toThrow(
      /permission/i,
    );
    const admin = await connectAs("admin", "_INBOX");
    const info = await (await jetstreamManager(admin)).streams.info("WEBHOOKS");
    expect(info.state.messages).toBe(1);
  });

  it("refuses a role that listens on another role's inbox", async () => {
    const nc = await connectAs("batch");
    const sub = nc.subscribe("_INBOX_gateway.>");
    // nats.js 3 settles `closed` with the server's error rather than rejecting
    const closed = await sub.closed.then(
      (v) => v,
      (err: unknown) => err,
    );
    expect(String(closed)).toMatch(/permission/i);
  });

  it("refuses a role without its NATS_INBOX_PREFIX (replies would land on _INBOX.>)", async () => {
    const nc = await connectAs("gateway", "_INBOX");
    await expect(jetstreamManager(nc, { timeout: 2_000 })).rejects.toThrow(/permission/i);
  });

  it("refuses a wrong password", async () => {
    await expect(
      connectNats({
        servers: [urlFor("gateway", "not-the-password")],
        name: "natsauth-bad",
        logger,
        connectTimeoutMs: 5_000,
      }),
    ).rejects.toThrow(/authorization/i);
  });
});

describe("TLS (NATS_TLS_CA, NATS_TLS_CERT, NATS_TLS_KEY)", () => {
  const tlsDir = join(dir, "tls");
  let tlsServer: ChildProcess;
  let tlsPort: number;

  beforeAll(async () => {
    execFileSync("mkdir", ["-p", tlsDir]);
    const ssl = (...args: string[]) => execFileSync("openssl", args, { cwd: tlsDir, stdio: "ignore" });
    ssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=hookstream test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
    );
    for (const name of ["server", "client"]) {
      ssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        `/CN=${name}`,
        "-keyout",
        `${name}.key`,
        "-out",
        `${name}.csr`,
      );
      writeFileSync(join(tlsDir, `${name}.ext`), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
      ssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        `${name}.ext`,
        "-out",
        `${name}.crt`,
      );
    }
    tlsPort = await freePort();
    const conf = [
      `listen: 127.0.0.1:${tlsPort}`,
      "tls {",
      `  cert_file: "${join(tlsDir, "server.crt")}"`,
      `  key_file: "${join(tlsDir, "server.key")}"`,
      `  ca_file: "${join(tlsDir, "ca.crt")}"`,
      "  verify: true",
      "}",
      "",
    ].join("\n");
    writeFileSync(join(tlsDir, "tls.conf"), conf);
    const watched = spawnWatched("nats-server (TLS)", "nats-server", ["-c", join(tlsDir, "tls.conf")]);
    tlsServer = watched.child;
    await waitForPort(tlsPort, 15_000, watched);
  });

  afterAll(() => {
    tlsServer?.kill("SIGKILL");
  });

  it("connects with the CA and a client certificate, and is refused without the certificate", async () => {
    const env = {
      NATS_TLS_CA: join(tlsDir, "ca.crt"),
      NATS_TLS_CERT: join(tlsDir, "client.crt"),
      NATS_TLS_KEY: join(tlsDir, "client.key"),
    };
    const nc = await connectNats({
      servers: [`nats://127.0.0.1:${tlsPort}`],
      name: "natsauth-tls",
      logger,
      connectTimeoutMs: 5_000,
      ...natsSecurityFromEnv(env),
    });
    open.push(nc);
    expect(nc.info?.tls_required).toBe(true);
    await nc.flush();

    await expect(
      connectNats({
        servers: [`nats://127.0.0.1:${tlsPort}`],
        name: "natsauth-tls-nocert",
        logger,
        connectTimeoutMs: 1_500,
        ...natsSecurityFromEnv({ NATS_TLS_CA: env.NATS_TLS_CA }),
      }).then((c) => {
        open.push(c);
        return c.flush();
      }),
    ).rejects.toThrow();
  });
});
