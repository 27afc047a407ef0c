import { parseConfig } from "@hookstream/config";
import { MessageHeader } from "@hookstream/contracts";
import { ackedPublisher, DEFAULT_STREAM_OPTIONS, ensureStreams } from "@hookstream/messaging";
import { createRegistry } from "@hookstream/observability";
import {
  deleteStreams,
  eventBody,
  signature,
  signWebhook,
  TEST_SECRET,
  testTopology,
} from "@hookstream/testing";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { buildApp } from "./app";
import { GatewayConfig } from "./config";

const topology = testTopology("gw");
const nc = await connect({ servers: inject("natsUrl").split(","), noAsyncTraces: true });
const jsm = await jetstreamManager(nc);
const publisher = ackedPublisher(nc);
const registry = createRegistry("gateway-test", { defaultMetrics: false });

const config = {
  OPENAI_WEBHOOK_SECRET: `whsec_${Buffer.from("an-old-secret").toString("base64")} ${TEST_SECRET}`,
  WEBHOOK_TOLERANCE_SEC: 300,
  MAX_BODY_BYTES: 64 * 1024,
  PUBLISH_TIMEOUT_MS: 2_000,
  RETRY_AFTER_SEC: 5,
  AUTH_FAILURE_BURST: 1000,
  AUTH_FAILURES_PER_SEC: 1000,
  TRUST_PROXY: false as const,
};

const app = buildApp({
  config,
  topology,
  publisher,
  logger: pino({ level: "silent" }),
  registry,
  maxPayload: nc.info?.max_payload,
  isConnected: () => true,
  readiness: async () => null,
});

async function streamCount(): Promise<number> {
  return (await jsm.streams.info(topology.streams.webhooks)).state.messages;
}

function post(body: string | Buffer, headers: Record<string, string>) {
  return app.inject({ method: "POST", url: "/webhooks/openai", payload: body, headers });
}

beforeAll(async () => {
  await ensureStreams(jsm, topology, DEFAULT_STREAM_OPTIONS);
});

afterAll(async () => {
  await app.close();
  await deleteStreams(jsm, topology);
  await nc.close();
});

describe("POST /webhooks/openai", () => {
  it("publishes a signed event to webhooks.openai.<type> and answers 200 after the ack", async () => {
    const body = eventBody("fine_tuning.job.succeeded", { data: { id: "ftjob-abc" } });
    const res = await post(body, signWebhook(TEST_SECRET, body).headers);
    expect(res.statusCode).toBe(200);
    const answer = res.json();
    expect(answer).toMatchObject({ status: "accepted", event_id: JSON.parse(body).id });
    const msg = await jsm.streams.getMessage(topology.streams.webhooks, { seq: answer.seq });
    expect(msg?.subject).toBe(`${topology.subjects.openaiPrefix}.fine_tuning.job.succeeded`);
  });

  it("keeps the body byte for byte and sets the contract headers", async () => {
    // odd spacing, unicode and key order: any re-serialization would change it
    const body = `{ "type":"response.completed",  "id":"evt_bytes_${Date.now()}", "created_at": 1750861210,\n "object":"event", "data":{"id":"resp_ü😀", "n": 1.50} }`;
    const signed = signWebhook(TEST_SECRET, body, { webhookId: "wh_bytes" });
    const res = await post(body, signed.headers);
    expect(res.statusCode).toBe(200);
    const msg = await jsm.streams.getMessage(topology.streams.webhooks, { seq: res.json().seq });
    expect(Buffer.from(msg!.data).equals(Buffer.from(body))).toBe(true);
    const h = msg!.header;
    expect(h.get(MessageHeader.MsgId)).toBe(JSON.parse(body).id);
    expect(h.get(MessageHeader.WebhookId)).toBe("wh_bytes");
    expect(h.get(MessageHeader.WebhookTimestamp)).toBe(signed.headers["webhook-timestamp"]);
    expect(h.get(MessageHeader.WebhookSignature)).toBe(signed.headers["webhook-signature"]);
    expect(h.get(MessageHeader.EventType)).toBe("response.completed");
    expect(new Date(h.get(MessageHeader.ReceivedAt)).toISOString()).toBe(h.get(MessageHeader.ReceivedAt));
  });

  it("stores an event delivered three times (new webhook-id and timestamp each) once", async () => {
    const body = eventBody("batch.completed");
    const before = await streamCount();
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(
        body,
        signWebhook(TEST_SECRET, body, { timestampSec: Math.floor(Date.now() / 1000) - i }).headers,
      );
      answers.push([res.statusCode, res.json().status]);
    }
    expect(answers).toEqual([
      [200, "accepted"],
      [200, "duplicate"],
      [200, "duplicate"],
    ]);
    expect((await streamCount()) - before).toBe(1);
  });

  it("accepts an event type it does not know yet", async () => {
    const body = eventBody("vector_store.file.completed");
    const res = await post(body, signWebhook(TEST_SECRET, body).headers);
    expect(res.statusCode).toBe(200);
  });

  describe("refusals: each answers its code with a JSON error and stores nothing", () => {
    const cases: Array<
      [string, number, string, () => { body: string | Buffer; headers: Record<string, string> }]
    > = [
      ["broken JSON", 400, "malformed_json", () => signWebhook(TEST_SECRET, '{"id": "evt_1", "type": ')],
      [
        "non-UTF-8 bytes",
        400,
        "malformed_json",
        () => {
          const body = Buffer.concat([
            Buffer.from('{"id":"evt_x","type":"a.b","created_at":1,"data":{"id":"'),
            Buffer.from([0xff, 0xfe]),
            Buffer.from('"}}'),
          ]);
          const ts = Math.floor(Date.now() / 1000);
          return {
            body,
            headers: {
              "content-type": "application/json",
              "webhook-id": "wh_bytes",
              "webhook-timestamp": String(ts),
              "webhook-signature": signature(TEST_SECRET, "wh_bytes", ts, body),
            },
          };
        },
      ],
      [
        "an envelope without id",
        400,
        "invalid_envelope",
        () => signWebhook(TEST_SECRET, JSON.stringify({ type: "batch.completed", created_at: 1, data: {} })),
      ],
      [
        "a type that is not a subject token",
        400,
        "invalid_envelope",
        () => signWebhook(TEST_SECRET, eventBody("batch.*")),
      ],
      ["a JSON array", 400, "invalid_envelope", () => signWebhook(TEST_SECRET, "[1,2]")],
      [
        "a missing webhook-signature",
        401,
        "missing_webhook_signature",
        () => {
          const s = signWebhook(TEST_SECRET, eventBody("batch.completed"));
          delete s.headers["webhook-signature"];
          return s;
        },
      ],
      [
        "a missing webhook-id",
        401,
        "missing_webhook_id",
        () => {
          const s = signWebhook(TEST_SECRET, eventBody("batch.completed"));
          delete s.headers["webhook-id"];
          return s;
        },
      ],
      [
        "a wrong secret",
        401,
        "no_matching_signature",
        () => signWebhook("whsec_d3Jvbmc=", eventBody("batch.completed")),
      ],
      [
        "a stale timestamp",
        401,
        "stale_timestamp",
        () =>
          signWebhook(TEST_SECRET, eventBody("batch.completed"), {
            timestampSec: Math.floor(Date.now() / 1000) - 301,
          }),
      ],
      [
        "a timestamp from the future",
        401,
        "future_timestamp",
        () =>
          signWebhook(TEST_SECRET, eventBody("batch.completed"), {
            timestampSec: Math.floor(Date.now() / 1000) + 301,
          }),
      ],
      [
        "a body over the limit",
        413,
        "body_too_large",
        () =>
          signWebhook(
            TEST_SECRET,
            eventBody("batch.completed", { data: { id: "x", pad: "a".repeat(70 * 1024) } }),
          ),
      ],
      [
        "text/plain",
        415,
        "unsupported_media_type",
        () => {
          const s = signWebhook(TEST_SECRET, eventBody("batch.completed"));
          return { body: s.body, headers: { ...s.headers, "content-type": "text/plain" } };
        },
      ],
    ];
    for (const [what, code, error, make] of cases) {
      it(`${code} for ${what}`, async () => {
        const before = await streamCount();
        const { body, headers } = make();
        const res = await post(body, headers);
        expect(res.statusCode).toBe(code);
        expect(res.headers["content-type"]).toContain("application/json");
        expect(res.json()).toMatchObject({ error, message: expect.any(String) });
        expect(await streamCount()).toBe(before);
      });
    }
  });

  it("says why a signature failed without leaking the secret", async () => {
    const res = await post(
      eventBody("batch.completed"),
      signWebhook("whsec_d3Jvbmc=", eventBody("batch.completed")).headers,
    );
    expect(res.statusCode).toBe(401);
    expect(res.body).not.toContain(TEST_SECRET.slice(6));
  });

  it("answers JSON 404 for unknown routes", async () => {
    const res = await app.inject({ method: "GET", url: "/nope" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: "not_found" });
  });

  it("counts received, rejected by reason, published and duplicates in /metrics", async () => {
    // types OpenAI does not send are counted together: a signed sender cannot grow the series
    for (let i = 0; i < 3; i++) {
      const body = eventBody(`invented.type_${i}`);
      expect((await post(body, signWebhook(TEST_SECRET, body).headers)).statusCode).toBe(200);
    }
    const res = await app.inject({ method: "GET", url: "/metrics" });
    const other = /hookstream_gateway_published_total\{type="other"[^}]*\} (\d+)/.exec(res.body);
    expect(Number(other?.[1])).toBeGreaterThanOrEqual(3);
    expect(res.body).not.toContain("invented");
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/hookstream_gateway_rejected_total\{reason="stale_timestamp"[^}]*\} 1/);
    expect(res.body).toMatch(/hookstream_gateway_duplicates_total\{[^}]*\} 2/);
    expect(res.body).toMatch(/hookstream_gateway_published_total\{type="batch.completed"[^}]*\} 1/);
    expect(res.body).toContain("hookstream_gateway_publish_seconds_bucket");
  });
});

describe("429 for unauthenticated floods", () => {
  it("limits an address that keeps failing authentication, before verifying its next request", async () => {
    let nowMs = 1_000_000_000_000;
    const strict = buildApp({
      config: { ...config, AUTH_FAILURE_BURST: 5, AUTH_FAILURES_PER_SEC: 1 },
      topology,
      publisher,
      logger: pino({ level: "silent" }),
      registry: createRegistry("gateway-429", { defaultMetrics: false }),
      isConnected: () => true,
      readiness: async () => null,
      // a clock that moves only when the test says: no token comes back meanwhile
      now: () => nowMs,
    });
    const signed = (secret: string, remoteAddress: string) => {
      const body = eventBody("batch.completed");
      return strict.inject({
        method: "POST",
        url: "/webhooks/openai",
        payload: body,
        headers: signWebhook(secret, body, { timestampSec: nowMs / 1000 }).headers,
        remoteAddress,
      });
    };
    const before = await streamCount();
    const codes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await signed(
        `whsec_${Buffer.from("a-wrong-secret-of-24-bytes").toString("base64")}`,
        "10.0.0.1",
      );
      codes.push(res.statusCode);
      if (res.statusCode === 429) expect(res.headers["retry-after"]).toBeDefined();
    }
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5).every((c) => c === 429)).toBe(true);
    // the limit is checked before the HMAC: while the address is out of failures even a
    // valid request from it waits (Retry-After); another address is not affected
    expect((await signed(TEST_SECRET, "10.0.0.1")).statusCode).toBe(429);
    expect((await signed(TEST_SECRET, "10.0.0.2")).statusCode).toBe(200);
    // a second later the address has a failure to spend again: its valid request passes
    nowMs += 1_000;
    expect((await signed(TEST_SECRET, "10.0.0.1")).statusCode).toBe(200);
    expect((await streamCount()) - before).toBe(2);
    await strict.close();
  });

  it("counts failures by the address the trusted proxy saw, whatever a client writes in X-Forwarded-For", async () => {
    const behindProxy = buildApp({
      config: {
        ...parseConfig(GatewayConfig, { OPENAI_WEBHOOK_SECRET: TEST_SECRET, TRUST_PROXY: "1" }),
        AUTH_FAILURE_BURST: 5,
        AUTH_FAILURES_PER_SEC: 1,
      },
      topology,
      publisher,
      logger: pino({ level: "silent" }),
      registry: createRegistry("gateway-xff", { defaultMetrics: false }),
      isConnected: () => true,
      readiness: async () => null,
      now: () => 1_000_000_000_000,
    });
    const codes: number[] = [];
    for (let i = 0; i < 12; i++) {
      const body = eventBody("batch.completed");
      const res = await behindProxy.inject({
        method: "POST",
        url: "/webhooks/openai",
        payload: body,
        headers: {
          ...signWebhook(`whsec_${Buffer.from("a-wrong-secret-of-24-bytes").toString("base64")}`, body, {
            timestampSec: 1_000_000_000,
          }).headers,
          // the client invents a new address each time; the proxy (the socket's peer)
          // appends the one it saw: 203.0.113.7
          "x-forwarded-for": `198.51.100.${i}, 203.0.113.7`,
        },
        remoteAddress: "10.0.0.10",
      });
      codes.push(res.statusCode);
    }
    expect(codes.slice(0, 5)).toEqual([401, 401, 401, 401, 401]);
    expect(codes.slice(5).every((c) => c === 429)).toBe(true);
    // another client behind the same proxy is counted apart: the address is the proxy's word
    const body = eventBody("batch.completed");
    const other = await behindProxy.inject({
      method: "POST",
      url: "/webhooks/openai",
      payload: body,
      headers: {
        ...signWebhook(`whsec_${Buffer.from("a-wrong-secret-of-24-bytes").toString("base64")}`, body, {
          timestampSec: 1_000_000_000,
        }).headers,
        "x-forwarded-for": "198.51.100.1, 203.0.113.8",
      },
      remoteAddress: "10.0.0.10",
    });
    expect(other.statusCode).toBe(401);
    await behindProxy.close();
  });
});
