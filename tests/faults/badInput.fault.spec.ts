import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseConfig } from "@hookstream/config";
import { GatewayConfig, startGateway } from "@hookstream/gateway";
import {
  deleteNamespaceStreams,
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
  // far above what 3,000 requests need: every answer here is the kind's own, never a 429
  AUTH_FAILURE_BURST: "100000",
  AUTH_FAILURES_PER_SEC: "100000",
});
const { app, nc } = await startGateway(config, pino({ level: "silent" }));
await app.listen({ port: 0, host: "127.0.0.1" });
const port = (app.server.address() as AddressInfo).port;
const jsm = await jetstreamManager(nc);

afterAll(async () => {
  try {
    await app.close();
    await deleteNamespaceStreams(jsm, topology.namespace);
  } finally {
    await nc.close();
  }
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
      // i is the same modulo 12 for every request of a kind: vary by the round instead
      const name = ["webhook-id", "webhook-timestamp", "webhook-signature"][Math.floor(i / 12) % 3]!;
      delete h[name];
      return { kind: `missing ${name}`, headers: h, body: Buffer.from(good) };
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

/**
 * The exact answer to each kind (issue 8, defect 9: "accepts any 4xx" could not tell a
 * signature failure from a parse failure): `<status> <error code>`, codes from
 * services/gateway/src/app.ts and verifySignature.ts. Signature checks come before
 * parsing, so a body is only judged once it is signed.
 */
const EXPECTED: Record<string, string> = {
  "broken JSON": "400 malformed_json",
  "wrong signature": "401 no_matching_signature",
  // not base64 decodes to the wrong length: no v1 signature to compare
  "bad base64": "401 no_matching_signature",
  "missing webhook-id": "401 missing_webhook_id",
  "missing webhook-timestamp": "401 missing_webhook_timestamp",
  "missing webhook-signature": "401 missing_webhook_signature",
  // Node joins a repeated webhook-id into "a, b": the signed id no longer matches
  "duplicated header": "401 no_matching_signature",
  stale: "401 stale_timestamp",
  "timestamp not a number": "401 invalid_timestamp",
  "huge body": "413 body_too_large",
  // signed and JSON-typed, so it is judged as JSON: an empty body is not
  "empty body": "400 malformed_json",
  "odd content type": "415 unsupported_media_type",
  "non-UTF-8": "400 malformed_json",
  "not an envelope": "400 invalid_envelope",
};

/** `<status> <error code of the JSON body>` */
function send(bad: Bad): Promise<string> {
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
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          let code = "(no JSON error)";
          try {
            code = String((JSON.parse(Buffer.concat(chunks).toString("utf8")) as { error?: unknown }).error);
          } catch {
            // keep the placeholder: the contract says every error body is JSON
          }
          resolve(`${res.statusCode ?? 0} ${code}`);
        });
      },
    );
    req.on("error", reject);
    req.end(bad.body);
  });
}

describe("thousands of malformed requests", () => {
  it("each get the exact status and error code of their kind (issue 8, defect 9), store nothing, and leave the gateway healthy", async () => {
    const before = (await jsm.streams.info(topology.streams.webhooks)).state.messages;
    const byKind = new Map<string, Set<string>>();
    const TOTAL = 3_000;
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < TOTAL) {
          const bad = malformed(next++);
          const answer = await send(bad);
          if (!byKind.has(bad.kind)) byKind.set(bad.kind, new Set());
          byKind.get(bad.kind)!.add(answer);
        }
      }),
    );
    // every request of a kind got the one answer of that kind
    expect(Object.fromEntries([...byKind].map(([kind, answers]) => [kind, [...answers].sort()]))).toEqual(
      Object.fromEntries(Object.entries(EXPECTED).map(([kind, answer]) => [kind, [answer]])),
    );
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
