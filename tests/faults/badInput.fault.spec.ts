import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseConfig } from "@hookstream/config";
import { GatewayConfig, startGateway } from "@hookstream/gateway";
import {
  deleteStreams,
  eventBody,
  signature,
  signWebhook,
  TEST_SECRET,
  testTopology,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { afterAll, describe, expect, inject, it } from "vitest";

const topology = testTopology("fbad");
const config = parseConfig(GatewayConfig, {
  NATS_URL: inject("natsUrl"),
  HOOKSTREAM_NAMESPACE: topology.namespace,
  OPENAI_WEBHOOK_SECRET: TEST_SECRET,
  AUTH_FAILURE_BURST: "200",
  AUTH_FAILURES_PER_SEC: "100",
});
const { app, nc } = await startGateway(config, pino({ level: "silent" }));
await app.listen({ port: 0, host: "127.0.0.1" });
const port = (app.server.address() as AddressInfo).port;
const jsm = await jetstreamManager(nc);

afterAll(async () => {
  await app.close();
  await deleteStreams(jsm, topology);
  await nc.close();
});

interface Bad {
  kind: string;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

const now = () => Math.floor(Date.now() / 1000);

/** One malformed request of each kind, varied by `i`. */
function malformed(i: number): Bad {
  const good = eventBody("batch.completed");
  const signed = signWebhook(TEST_SECRET, good);
  const kinds: Array<() => Bad> = [
    () => {
      const body = good.slice(0, (i % (good.length - 2)) + 1);
      return {
        kind: "broken JSON",
        headers: signWebhook(TEST_SECRET, body).headers,
        body: Buffer.from(body),
      };
    },
    () => ({
      kind: "wrong signature",
      headers: {
        ...signed.headers,
        "webhook-signature": `v1,${Buffer.alloc(32, i % 256).toString("base64")}`,
      },
      body: Buffer.from(good),
    }),
    () => ({
      kind: "bad base64",
      headers: { ...signed.headers, "webhook-signature": `v1,@@${i}@@` },
      body: Buffer.from(good),
    }),
    () => {
      const h: Record<string, string> = { ...signed.headers };
      delete h[["webhook-id", "webhook-timestamp", "webhook-signature"][i % 3]!];
      return { kind: "missing header", headers: h, body: Buffer.from(good) };
    },
    () => ({
      kind: "duplicated header",
      headers: { ...signed.headers, "webhook-id": [signed.headers["webhook-id"]!, `wh_other_${i}`] },
      body: Buffer.from(good),
    }),
    () => ({
      kind: "stale",
      headers: signWebhook(TEST_SECRET, good, { timestampSec: now() - 301 - i }).headers,
      body: Buffer.from(good),
    }),
    () => ({
      kind: "timestamp not a number",
      headers: { ...signed.headers, "webhook-timestamp": `${i}abc` },
      body: Buffer.from(good),
    }),
    () => ({
      kind: "huge body",
      headers: signed.headers,
      body: Buffer.alloc(1024 * 1024 + (i % 1000), 0x61),
    }),
    () => ({ kind: "empty body", headers: signWebhook(TEST_SECRET, "").headers, body: Buffer.alloc(0) }),
    () => ({
      kind: "odd content type",
      headers: {
        ...signed.headers,
        "content-type": [
          "text/plain",
          "application/xml",
          "multipart/form-data; boundary=x",
          "application/x-www-form-urlencoded",
          "application/jsonp",
        ][i % 5]!,
      },
      body: Buffer.from(good),
    }),
    () => {
      const body = Buffer.concat([
        Buffer.from('{"id":"evt_bin","type":"a.b","created_at":1,"data":{"x":"'),
        Buffer.from([0xc3, 0x28, 0xff, i % 256]),
        Buffer.from('"}}'),
      ]);
      const ts = now();
      return {
        kind: "non-UTF-8",
        headers: {
          "content-type": "application/json",
          "webhook-id": "wh_bin",
          "webhook-timestamp": String(ts),
          "webhook-signature": signature(TEST_SECRET, "wh_bin", ts, body),
        },
        body,
      };
    },
    () => {
      const body = JSON.stringify([{ id: "evt", type: "x.y" }, null, 1, "s", { id: i }][i % 5]);
      return {
        kind: "not an envelope",
        headers: signWebhook(TEST_SECRET, body).headers,
        body: Buffer.from(body),
      };
    },
  ];
  return kinds[i % kinds.length]!();
}

function send(bad: Bad): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        method: "POST",
        path: "/webhooks/openai",
        headers: { ...bad.headers, "content-length": bad.body.length },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(bad.body);
  });
}

describe("thousands of malformed requests", () => {
  it("get only 4xx answers, store nothing, and leave the gateway healthy", async () => {
    const before = (await jsm.streams.info(topology.streams.webhooks)).state.messages;
    const byKind = new Map<string, Set<number>>();
    const TOTAL = 3_000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < TOTAL) {
          const bad = malformed(next++);
          const status = await send(bad);
          if (!byKind.has(bad.kind)) byKind.set(bad.kind, new Set());
          byKind.get(bad.kind)!.add(status);
        }
      }),
    );
    const all = [...byKind.values()].flatMap((s) => [...s]);
    expect(
      all.every((s) => s >= 400 && s < 500),
      JSON.stringify(Object.fromEntries([...byKind].map(([k, v]) => [k, [...v]]))),
    ).toBe(true);
    expect(byKind.size).toBe(12);
    expect((await jsm.streams.info(topology.streams.webhooks)).state.messages).toBe(before);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    // and a good request still goes through
    const good = eventBody("batch.completed");
    expect(
      (
        await fetch(`http://127.0.0.1:${port}/webhooks/openai`, {
          method: "POST",
          headers: signWebhook(TEST_SECRET, good).headers,
          body: good,
        })
      ).status,
    ).toBe(200);
  });
});
