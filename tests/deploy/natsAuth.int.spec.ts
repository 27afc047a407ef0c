import { type ChildProcess, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReplayLocks } from "@hookstream/admin";
import { makeTopology } from "@hookstream/contracts";
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
import { type AccountsServer, startAccountsServer } from "./accountsServer";

/**
 * deploy/nats/accounts.conf on a nats-server of this file's own (free ports, its
 * own store): each role connects the way a service does (`connectNats` with the
 * credentials in NATS_URL and its NATS_INBOX_PREFIX), and what a role must not do
 * is refused by the server. tests/deploy/roles.int.spec.ts runs every service so.
 */
type Role = string;
const topology = makeTopology("");
const logger = pino({ level: "silent" });

let server: AccountsServer;
const open: NatsConnection[] = [];

function urlFor(role: Role, password?: string): string {
  return server.url(role, password);
}

function connectAs(role: Role, inboxPrefix = `_INBOX_${role}`): Promise<NatsConnection> {
  return server.connect(role, { inboxPrefix, name: `natsauth-${role}` });
}

beforeAll(async () => {
  server = await startAccountsServer("natsauth");
});

afterAll(async () => {
  await Promise.all(open.map((nc) => nc.close().catch(() => {})));
  await server?.stop();
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

  it("lets the admin service take, renew and release a bulk-replay lock in the provisioned REPLAY_LOCKS, and not watch it", async () => {
    const nc = await connectAs("admin-service");
    const js = jetstream(nc);
    const kv = await ensureBuckets(js, topology, DEFAULT_STREAM_OPTIONS, {
      bucket: "replayLocks",
      mode: "verify",
      pollMs: 50,
    });
    const locks = await ReplayLocks.open(kv);
    // the provisioning step gave the bucket its max age: what ends a dead instance's lock
    expect(locks.ttlMs).toBe(DEFAULT_STREAM_OPTIONS.replayLockTtlMs);
    const holder = { instance: "natsauth", actor: "ops", started_at: new Date().toISOString() };
    const lock = await locks.acquire("batch", holder);
    await expect(locks.acquire("batch", holder)).rejects.toThrow(/already running/);
    await lock.release();
    await (await locks.acquire("batch", holder)).release();
    // no right to watch: a watch creates a consumer on KV_REPLAY_LOCKS
    await expect(kv.watch({ key: "batch" })).rejects.toThrow(/permission|timeout/i);
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
  const tlsDir = mkdtempSync(join(tmpdir(), "hs-natstls-"));
  let tlsServer: ChildProcess;
  let tlsPort: number;

  beforeAll(async () => {
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
    rmSync(tlsDir, { recursive: true, force: true });
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
