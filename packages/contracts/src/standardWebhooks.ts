import { createHmac, randomUUID } from "node:crypto";

/**
 * How OpenAI signs a webhook (Standard Webhooks): HMAC-SHA256 over
 * `${webhook-id}.${webhook-timestamp}.${body}` keyed by the base64-decoded secret
 * after `whsec_`; a secret without the prefix is used as raw UTF-8 text, as the
 * openai SDK does. Used by `hookstream send` and the tests; the gateway verifies.
 */
export function secretKey(secret: string): Buffer {
  return secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8");
}

/**
 * The shortest signing key accepted, in bytes once decoded: the Standard Webhooks
 * spec asks for 24 to 64 random bytes. A shorter one (`whsec_` alone decodes to an
 * empty key) is refused at start (docs/security.md).
 */
export const MIN_SECRET_BYTES = 24;

/** Why a decoded signing key is too weak, or null; never shows the key itself. */
export function weakKeyProblem(key: Buffer): string | null {
  if (key.length >= MIN_SECRET_BYTES) return null;
  return `decodes to ${key.length} bytes; at least ${MIN_SECRET_BYTES} are needed (Standard Webhooks: 24 to 64 random bytes)`;
}

export function signature(
  secret: string,
  webhookId: string,
  timestamp: number | string,
  body: string | Buffer,
): string {
  const mac = createHmac("sha256", secretKey(secret));
  mac.update(`${webhookId}.${timestamp}.`);
  mac.update(body);
  return `v1,${mac.digest("base64")}`;
}

export interface SignedWebhook {
  body: string;
  headers: Record<string, string>;
}

/** The body with the headers OpenAI would send it with. */
export function signWebhook(
  secret: string,
  body: string,
  opts: { webhookId?: string; timestampSec?: number } = {},
): SignedWebhook {
  const webhookId = opts.webhookId ?? `wh_${randomUUID().replaceAll("-", "")}`;
  const timestamp = opts.timestampSec ?? Math.floor(Date.now() / 1000);
  return {
    body,
    headers: {
      "content-type": "application/json",
      "webhook-id": webhookId,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signature(secret, webhookId, timestamp, body),
    },
  };
}

/** An event body shaped like OpenAI's. */
export function eventBody(
  type: string,
  opts: { id?: string; data?: Record<string, unknown>; createdAt?: number } = {},
): string {
  return JSON.stringify({
    id: opts.id ?? `evt_${randomUUID().replaceAll("-", "")}`,
    object: "event",
    created_at: opts.createdAt ?? Math.floor(Date.now() / 1000),
    type,
    data: opts.data ?? { id: `res_${randomUUID().slice(0, 8)}` },
  });
}
