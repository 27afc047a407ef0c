/**
 * The live feed's bounds (issue 21, item 11): a cap on the connections one instance
 * holds (503 beyond it, through the running admin service), and a client that stops reading is
 * dropped instead of having its events pile up in the process.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseConfig } from "@hookstream/config";
import type { EventSummary } from "@hookstream/contracts";
import { createLogger, createRegistry } from "@hookstream/observability";
import { adminAuth, createHttpApp } from "@hookstream/runtime";
import { createTestDatabase, deleteStreams, testTopology } from "@hookstream/testing";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";
import { AdminConfigSchema } from "../config";
import { type Admin, startAdmin } from "../startAdmin";
import { registerConsoleRoutes } from "./consoleRoutes";
import type { LiveListener } from "./liveFeed";

const TOKEN = "live-limits-admin-token";
const auth = { authorization: `Bearer ${TOKEN}` };
const logger = createLogger({ name: "live-limits-test", level: "silent" });

/** Opens a live stream; resolves with its status once the answer's head arrives. */
function openLive(
  port: number,
): Promise<{ status: number; req: http.ClientRequest; res: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/admin/events/live", headers: auth }, (res) =>
      resolve({ status: res.statusCode ?? 0, req, res }),
    );
    req.on("error", reject);
  });
}

describe("the live feed's connection cap", () => {
  const topology = testTopology("live");
  let admin: Admin | undefined;
  const dbReady = createTestDatabase(inject("databaseUrl"), "live");

  afterAll(async () => {
    for (const step of admin?.steps ?? []) await step.close();
    const nc = await connect({ servers: inject("natsUrl").split(",") });
    await deleteStreams(await jetstreamManager(nc), topology);
    await nc.close();
    await (await dbReady).drop();
  });

  it("answers 503 once LIVE_MAX_CONNECTIONS streams are open, and takes one again when one closes", async () => {
    const db = await dbReady;
    admin = await startAdmin(
      parseConfig(AdminConfigSchema, {
        NATS_URL: inject("natsUrl"),
        DATABASE_URL: db.url,
        HOOKSTREAM_NAMESPACE: topology.namespace,
        ADMIN_TOKEN: TOKEN,
        LIVE_MAX_CONNECTIONS: "2",
        LOG_LEVEL: "silent",
      }),
      logger,
    );
    await admin.app.listen({ port: 0, host: "127.0.0.1" });
    const port = (admin.app.server.address() as AddressInfo).port;
    const first = await openLive(port);
    const second = await openLive(port);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await openLive(port);
    expect(third.status).toBe(503);
    expect(third.res.headers["retry-after"]).toBe("5");
    const body = await new Promise<string>((resolve) => {
      let text = "";
      third.res.on("data", (d) => {
        text += d;
      });
      third.res.on("end", () => resolve(text));
    });
    expect(JSON.parse(body)).toMatchObject({ error: "live_feed_full" });
    first.req.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await openLive(port);
    expect(again.status).toBe(200);
    second.req.destroy();
    again.req.destroy();
  });
});

describe("a live client that stops reading", () => {
  it("is dropped once its unsent events pass LIVE_MAX_BUFFER_BYTES", async () => {
    // the feed's rows come from NATS and Postgres in the service; here the test pushes
    // rows itself through the same subscribe() the route uses
    let listener: LiveListener | null = null;
    let unsubscribed = false;
    const feed = {
      subscribe(l: LiveListener) {
        listener = l;
        return () => {
          unsubscribed = true;
        };
      },
    };
    const app = createHttpApp({
      logger,
      registry: createRegistry("live-test", { defaultMetrics: false }),
      readiness: async () => null,
    });
    registerConsoleRoutes(app, {
      requireAdmin: adminAuth({
        tokens: [{ label: "admin", token: TOKEN }],
        failureBurst: 5,
        failuresPerSec: 1,
      }),
      // not reached by the live route
      em: {} as EntityManager,
      js: {} as JetStreamClient,
      jsm: {} as JetStreamManager,
      topology: testTopology("livebp"),
      metrics: { replays: { inc: () => undefined } as never },
      now: () => new Date(),
      fineTuneUrl: "http://127.0.0.1:9",
      deliveryUrl: "http://127.0.0.1:9",
      feed,
      live: { maxConnections: 10, maxBufferBytes: 64 * 1024 },
    });
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const port = (app.server.address() as AddressInfo).port;
      const { status, res } = await openLive(port);
      expect(status).toBe(200);
      // the browser stops reading: what the server writes stays in the socket buffers
      res.pause();
      const row = {
        event_id: "evt_big",
        event_type: "batch.completed",
        status: "processed",
        created_at: new Date().toISOString(),
        resource_id: "x".repeat(32 * 1024),
      } as unknown as EventSummary;
      let pushes = 0;
      // kernel buffers take a few MB first; then the process's own queue grows past the bound
      while (!unsubscribed && pushes < 20_000) {
        (listener as LiveListener | null)?.([row]);
        pushes++;
        if (pushes % 16 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(unsubscribed).toBe(true);
      res.destroy();
    } finally {
      await app.close();
    }
  });
});
