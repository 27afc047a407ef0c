import { z } from "zod";
import { OpenAIEvent } from "./envelope";
import { secretKey, weakKeyProblem } from "./standardWebhooks";
import { OPENAI_PROVIDER } from "./topology";

/** A provider's name is a subject token and a URL path segment: `POST /webhooks/<name>`. */
export const PROVIDER_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The payload shapes a sender may use: OpenAI's (`id` in the body) or Standard Webhooks'. */
export const PROVIDER_ENVELOPES = ["openai", "standard"] as const;
export type ProviderEnvelope = (typeof PROVIDER_ENVELOPES)[number];

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** What is wrong with one of a provider's secrets, or null; never the secret itself. */
function secretProblem(envelope: ProviderEnvelope, secret: string): string | null {
  if (envelope !== "standard") return weakKeyProblem(secretKey(secret));
  const text = secret.startsWith("whsec_") ? secret.slice(6) : secret;
  if (!BASE64.test(text)) return "must be base64, optionally after whsec_";
  return weakKeyProblem(Buffer.from(text, "base64"));
}

/**
 * One sender of `WEBHOOK_PROVIDERS` (docs/webhooks.md, "Senders beyond OpenAI"). `secrets`
 * are all active at once (rotation). A `standard` provider's secrets are base64, with
 * or without `whsec_`, as every Standard Webhooks library reads them; an `openai`
 * provider's follow the openai SDK (without `whsec_`, the text itself is the key).
 */
export const WebhookProvider = z
  .strictObject({
    name: z
      .string()
      .regex(PROVIDER_NAME_PATTERN, "lowercase letters, digits, '_' and '-' (at most 64), e.g. \"acme\""),
    secrets: z.array(z.string().min(1, "an empty secret")).min(1, "at least one secret is needed"),
    envelope: z.enum(PROVIDER_ENVELOPES),
    /** accepted clock skew of webhook-timestamp, either direction (default WEBHOOK_TOLERANCE_SEC) */
    toleranceSec: z.number().int().min(1).max(86_400).optional(),
  })
  .superRefine((p, ctx) => {
    p.secrets.forEach((secret, i) => {
      // never echo the secret itself
      const message = secretProblem(p.envelope, secret);
      if (message) ctx.addIssue({ code: "custom", path: ["secrets", i], message });
    });
  });
export type WebhookProvider = z.infer<typeof WebhookProvider>;

/** The whole `WEBHOOK_PROVIDERS` list: unique names; `openai` is configured by OPENAI_WEBHOOK_SECRET. */
export const WebhookProviders = z.array(WebhookProvider).superRefine((list, ctx) => {
  const seen = new Set<string>();
  list.forEach((p, i) => {
    if (p.name === OPENAI_PROVIDER) {
      ctx.addIssue({
        code: "custom",
        path: [i, "name"],
        message: `"${OPENAI_PROVIDER}" is built in (OPENAI_WEBHOOK_SECRET, WEBHOOK_TOLERANCE_SEC)`,
      });
    } else if (seen.has(p.name)) {
      ctx.addIssue({ code: "custom", path: [i, "name"], message: `"${p.name}" appears twice` });
    }
    seen.add(p.name);
  });
});
export type WebhookProviders = z.infer<typeof WebhookProviders>;

/**
 * The Standard Webhooks payload shape (`type`, `timestamp`, `data`). The event id is
 * not in the body: it is the `webhook-id` header. Extra fields pass through.
 */
export const StandardEvent = z.looseObject({
  type: OpenAIEvent.shape.type,
  timestamp: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
});
export type StandardEvent = z.infer<typeof StandardEvent>;

/** A Standard Webhooks body for `hookstream send --provider` and the tests. */
export function standardEventBody(
  type: string,
  opts: { data?: Record<string, unknown>; at?: Date } = {},
): string {
  return JSON.stringify({ type, timestamp: (opts.at ?? new Date()).toISOString(), data: opts.data ?? {} });
}

/**
 * A Standard Webhooks library's view of a secret (base64, `whsec_` optional), in the
 * `whsec_` form that `signWebhook` decodes as base64 too.
 */
export function standardSecret(secret: string): string {
  return secret.startsWith("whsec_") ? secret : `whsec_${secret}`;
}
