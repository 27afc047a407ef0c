import { createHash, createHmac, createSecretKey, type KeyObject } from "node:crypto";
import { secretKey } from "@hookstream/contracts";

/**
 * Our `webhook-id` for one event to one destination: the same on every retry and on
 * every instance (a hash, no state), so a receiver can drop our retries by it, as the
 * Standard Webhooks spec asks; another destination of the same event gets another id.
 */
export function notificationId(eventId: string, url: string): string {
  return `msg_${createHash("sha256").update(eventId).update("\n").update(url).digest("hex").slice(0, 32)}`;
}

/**
 * The Standard Webhooks headers of one outbound body: `webhook-signature` is
 * `v1,<base64 HMAC-SHA256>` over `${id}.${timestamp}.${body}`, keyed by the base64
 * secret after `whsec_` — what the `standardwebhooks` and `svix` libraries verify.
 */
export function signedHeaders(
  secret: string,
  webhookId: string,
  timestampSec: number,
  body: string,
): Record<string, string> {
  const mac = createHmac("sha256", keyOf(secret));
  mac.update(`${webhookId}.${timestampSec}.`);
  mac.update(body);
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": String(timestampSec),
    "webhook-signature": `v1,${mac.digest("base64")}`,
  };
}

/** Each destination's secret decoded once (contracts' secretKey), not on every request. */
const keys = new Map<string, KeyObject>();
function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(secretKey(secret));
    keys.set(secret, key);
  }
  return key;
}
