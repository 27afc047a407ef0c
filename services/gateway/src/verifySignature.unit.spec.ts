import { signWebhook, TEST_SECRET } from "@hookstream/testing";
import OpenAI from "openai";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { decodeSecrets, verifySignature } from "./verifySignature";

// The openai SDK's own test vector (tests/api-resources/webhooks.test.ts).
const SDK = {
  secret: "whsec_RdvaYFYUXuIFuEbvZHwMfYFhUf7aMYjYcmM24+Aj40c=",
  webhookId: "wh_685c059ae39c8190af8c71ed1022a24d",
  timestamp: "1750861210",
  body: '{"id": "evt_685c059ae3a481909bdc86819b066fb6", "object": "event", "created_at": 1750861210, "type": "response.completed", "data": {"id": "resp_123"}}',
  signature: "v1,gUAg4R2hWouRZqRQG4uJypNS8YK885G838+EHb4nKBY=",
};

function verify(overrides: Partial<Parameters<typeof verifySignature>[0]> = {}) {
  return verifySignature({
    keys: decodeSecrets(SDK.secret),
    webhookId: SDK.webhookId,
    timestamp: SDK.timestamp,
    signatureHeader: SDK.signature,
    body: Buffer.from(SDK.body),
    nowMs: 1750861210 * 1000,
    toleranceSec: 300,
    ...overrides,
  });
}

describe("verifySignature", () => {
  it("accepts the openai SDK's test vector with the clock injected", () => {
    expect(verify()).toMatchObject({ ok: true });
  });

  it("accepts when any of several space-separated signatures matches", () => {
    expect(
      verify({ signatureHeader: `v1,${Buffer.alloc(32).toString("base64")} ${SDK.signature}` }),
    ).toMatchObject({ ok: true });
  });

  it("accepts with any of several active secrets (rotation, comma or space separated)", () => {
    const keys = decodeSecrets(`whsec_${Buffer.from("old-secret").toString("base64")}, ${SDK.secret}`);
    expect(keys).toHaveLength(2);
    expect(verify({ keys })).toMatchObject({ ok: true });
  });

  it("tells which key matched (the second of two here): the key picks the event's OpenAI project", () => {
    const keys = decodeSecrets([`whsec_${Buffer.from("another-project").toString("base64")}`, SDK.secret]);
    expect(verify({ keys })).toEqual({ ok: true, key: 1 });
    expect(verify({ keys: [...keys].reverse() })).toEqual({ ok: true, key: 0 });
  });

  it("refuses a body changed by one byte", () => {
    expect(verify({ body: Buffer.from(SDK.body.replace("resp_123", "resp_124")) })).toMatchObject({
      ok: false,
      reason: "no_matching_signature",
    });
  });

  it("refuses re-serialized JSON: the signature is over the exact bytes", () => {
    const reserialized = Buffer.from(JSON.stringify(JSON.parse(SDK.body)));
    expect(verify({ body: reserialized })).toMatchObject({ ok: false, reason: "no_matching_signature" });
  });

  it("refuses a stale timestamp and says by how much", () => {
    const result = verify({ nowMs: (1750861210 + 301) * 1000 });
    expect(result).toMatchObject({ ok: false, reason: "stale_timestamp" });
    expect(!result.ok && result.message).toContain("301 s old");
  });

  it("refuses a timestamp from the future and says by how much", () => {
    const result = verify({ nowMs: (1750861210 - 400) * 1000 });
    expect(result).toMatchObject({ ok: false, reason: "future_timestamp" });
    expect(!result.ok && result.message).toContain("400 s in the future");
  });

  it("accepts a timestamp exactly at the tolerance", () => {
    expect(verify({ nowMs: (1750861210 + 300) * 1000 })).toMatchObject({ ok: true });
  });

  it("names the missing header", () => {
    expect(verify({ webhookId: undefined })).toMatchObject({ reason: "missing_webhook_id" });
    expect(verify({ timestamp: undefined })).toMatchObject({ reason: "missing_webhook_timestamp" });
    expect(verify({ signatureHeader: undefined })).toMatchObject({ reason: "missing_webhook_signature" });
  });

  it("refuses a timestamp that is not unix seconds", () => {
    expect(verify({ timestamp: "2025-06-25T00:00:00Z" })).toMatchObject({ reason: "invalid_timestamp" });
  });

  it("refuses signatures of other versions and bad base64", () => {
    expect(verify({ signatureHeader: SDK.signature.replace("v1,", "v2,") })).toMatchObject({
      reason: "no_matching_signature",
    });
    expect(verify({ signatureHeader: "v1,!!!not-base64!!!" })).toMatchObject({
      reason: "no_matching_signature",
    });
  });

  it("never puts a secret in its message", () => {
    const result = verify({ body: Buffer.from("{}") });
    expect(JSON.stringify(result)).not.toContain(SDK.secret.slice(6, 20));
  });

  it("uses a secret without the whsec_ prefix as raw UTF-8 text, as the openai SDK does", async () => {
    const secret = "plain-text-secret";
    const signed = signWebhook(secret, '{"a":1}');
    const result = verifySignature({
      keys: decodeSecrets(secret),
      webhookId: signed.headers["webhook-id"],
      timestamp: signed.headers["webhook-timestamp"],
      signatureHeader: signed.headers["webhook-signature"],
      body: Buffer.from(signed.body),
      nowMs: Date.now(),
      toleranceSec: 300,
    });
    expect(result).toMatchObject({ ok: true });
    const sdk = new OpenAI({ apiKey: "unused" });
    await expect(sdk.webhooks.verifySignature(signed.body, signed.headers, secret)).resolves.toBeUndefined();
  });

  it("agrees with the openai SDK and the standardwebhooks library on signatures we make", async () => {
    const body = JSON.stringify({
      id: "evt_1",
      object: "event",
      created_at: 1,
      type: "batch.completed",
      data: { id: "b" },
    });
    const signed = signWebhook(TEST_SECRET, body);
    const sdk = new OpenAI({ apiKey: "unused" });
    await expect(sdk.webhooks.unwrap(signed.body, signed.headers, TEST_SECRET)).resolves.toMatchObject({
      id: "evt_1",
    });
    expect(new Webhook(TEST_SECRET).verify(signed.body, signed.headers)).toMatchObject({ id: "evt_1" });
    expect(
      verifySignature({
        keys: decodeSecrets(TEST_SECRET),
        webhookId: signed.headers["webhook-id"],
        timestamp: signed.headers["webhook-timestamp"],
        signatureHeader: signed.headers["webhook-signature"],
        body: Buffer.from(body),
        nowMs: Date.now(),
        toleranceSec: 300,
      }),
    ).toMatchObject({ ok: true });
  });
});
