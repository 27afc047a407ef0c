import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Standard Webhooks verification as OpenAI signs (docs/architecture.md, "HTTP answers"):
 * HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${raw body}`, keyed by the
 * base64-decoded secret after `whsec_`. A secret without the prefix is used as raw
 * UTF-8 text, exactly as the openai SDK's `webhooks.unwrap` does (OpenAI is the
 * sender; the Standard Webhooks libraries would base64-decode it instead).
 */
export function decodeSecrets(raw: string | readonly string[]): Buffer[] {
  const secrets = typeof raw === "string" ? raw.split(/[\s,]+/) : raw;
  return secrets
    .filter((s) => s.length > 0)
    .map((secret) =>
      secret.startsWith("whsec_") ? Buffer.from(secret.slice(6), "base64") : Buffer.from(secret, "utf8"),
    );
}

export type VerifyFailure =
  | "missing_webhook_id"
  | "missing_webhook_timestamp"
  | "missing_webhook_signature"
  | "invalid_timestamp"
  | "stale_timestamp"
  | "future_timestamp"
  | "no_matching_signature";

/** `key`: the index of the first key that matched (it tells the event's OpenAI project) */
export type VerifyResult = { ok: true; key: number } | { ok: false; reason: VerifyFailure; message: string };

export interface VerifyInput {
  /** keys from decodeSecrets: several are active during a rotation, any may match */
  keys: readonly Buffer[];
  webhookId: string | undefined;
  timestamp: string | undefined;
  signatureHeader: string | undefined;
  /** the exact bytes received: never re-serialized JSON */
  body: Buffer;
  nowMs: number;
  toleranceSec: number;
}

const SHA256_BYTES = 32;
const TIMESTAMP_PATTERN = /^\d{1,15}$/;

function fail(reason: VerifyFailure, message: string): VerifyResult {
  return { ok: false, reason, message };
}

/** The `v1,<base64>` entries of a signature header; other versions are ignored. */
function v1Signatures(header: string): Buffer[] {
  const out: Buffer[] = [];
  for (const entry of header.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma < 0 || entry.slice(0, comma) !== "v1") continue;
    const sig = Buffer.from(entry.slice(comma + 1), "base64");
    if (sig.length === SHA256_BYTES) out.push(sig);
  }
  return out;
}

/** Pure: every input is an argument, the clock included. Compares in constant time. */
export function verifySignature(input: VerifyInput): VerifyResult {
  const { webhookId, timestamp, signatureHeader } = input;
  if (!webhookId) return fail("missing_webhook_id", "missing webhook-id header");
  if (!timestamp) return fail("missing_webhook_timestamp", "missing webhook-timestamp header");
  if (!signatureHeader) return fail("missing_webhook_signature", "missing webhook-signature header");
  if (!TIMESTAMP_PATTERN.test(timestamp)) {
    return fail("invalid_timestamp", "webhook-timestamp must be unix seconds");
  }
  const skewSec = Math.floor(input.nowMs / 1000) - Number(timestamp);
  if (skewSec > input.toleranceSec) {
    return fail(
      "stale_timestamp",
      `webhook-timestamp is ${skewSec} s old; the tolerance is ${input.toleranceSec} s`,
    );
  }
  if (-skewSec > input.toleranceSec) {
    return fail(
      "future_timestamp",
      `webhook-timestamp is ${-skewSec} s in the future; the tolerance is ${input.toleranceSec} s`,
    );
  }
  const candidates = v1Signatures(signatureHeader);
  if (candidates.length === 0) {
    return fail("no_matching_signature", "webhook-signature holds no v1 signature");
  }
  const prefix = `${webhookId}.${timestamp}.`;
  let matched = -1;
  for (let k = 0; k < input.keys.length; k++) {
    const expected = createHmac("sha256", input.keys[k] as Buffer)
      .update(prefix)
      .update(input.body)
      .digest();
    // no early exit: the time taken does not tell which key or entry matched
    let hit = false;
    for (const candidate of candidates) hit = timingSafeEqual(expected, candidate) || hit;
    if (hit && matched < 0) matched = k;
  }
  return matched >= 0
    ? { ok: true, key: matched }
    : fail("no_matching_signature", "no signature matches any active secret");
}
