import { boolVar, DEV_WEBHOOK_SECRET, intVar, stringVar } from "@hookstream/config";
import { serviceConfigSchema } from "@hookstream/runtime";
import type { z } from "zod";
import { providersVar } from "./providers/providerConfig";

/** NATS' default max_payload: a message, headers included, may not be larger. */
export const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** room kept for the message headers (ids, timestamp, signatures) under max_payload */
export const HEADER_ALLOWANCE_BYTES = 8 * 1024;

/** The gateway's own variables; the common ones, GATEWAY_PORT and GATEWAY_HOST come from the runtime. */
export const gatewayEnv = {
  /** one or more secrets, separated by commas or spaces (rotation) */
  OPENAI_WEBHOOK_SECRET: stringVar(DEV_WEBHOOK_SECRET),
  /** accepted clock skew of webhook-timestamp, either direction */
  WEBHOOK_TOLERANCE_SEC: intVar(300, { min: 1 }),
  /** largest body accepted; lowered to fit under the server's max_payload */
  MAX_BODY_BYTES: intVar(NATS_DEFAULT_MAX_PAYLOAD, { min: 1024 }),
  /** how long to wait for JetStream's ack before answering 503 (OpenAI waits only a few seconds) */
  PUBLISH_TIMEOUT_MS: intVar(3_000, { min: 50 }),
  RETRY_AFTER_SEC: intVar(5, { min: 1 }),
  /** failed authentications allowed per client address at once, then per second */
  AUTH_FAILURE_BURST: intVar(50, { min: 1 }),
  AUTH_FAILURES_PER_SEC: intVar(10, { min: 1 }),
  /** take the client address from X-Forwarded-For (behind a load balancer) */
  TRUST_PROXY: boolVar(false),
  /** senders beyond OpenAI: a JSON list, or `@file.json` (providers/providerConfig.ts) */
  WEBHOOK_PROVIDERS: providersVar(),
};

export const GatewayConfig = serviceConfigSchema("gateway", gatewayEnv);
export type GatewayConfig = z.infer<typeof GatewayConfig>;

/** The body limit: the configured one, or less so that body + headers fit in one NATS message. */
export function effectiveBodyLimit(configured: number, maxPayload: number | undefined): number {
  return Math.min(configured, (maxPayload ?? NATS_DEFAULT_MAX_PAYLOAD) - HEADER_ALLOWANCE_BYTES);
}
