import {
  DEV_WEBHOOK_SECRET,
  intVar,
  isProduction,
  openaiProjectsVar,
  stringVar,
  trustProxyVar,
} from "@hookstream/config";
import { weakKeyProblem } from "@hookstream/contracts";
import { type EnvCheck, serviceConfigSchema } from "@hookstream/runtime";
import type { z } from "zod";
import { providersVar } from "./providers/providerConfig";
import { decodeSecrets } from "./verifySignature";

/** NATS' default max_payload: a message, headers included, may not be larger. */
export const NATS_DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** room kept for the message headers (ids, timestamp, signatures) under max_payload */
export const HEADER_ALLOWANCE_BYTES = 8 * 1024;

/** The gateway's own variables; the common ones, GATEWAY_PORT and GATEWAY_HOST come from the runtime. */
export const gatewayEnv = {
  /**
   * one or more secrets, separated by commas or spaces (rotation), each at least 24
   * bytes once decoded. Unset: the public development secret, outside production only.
   */
  OPENAI_WEBHOOK_SECRET: stringVar(DEV_WEBHOOK_SECRET).superRefine((raw, ctx) => {
    const keys = decodeSecrets(raw);
    if (keys.length === 0) ctx.addIssue({ code: "custom", message: "no secret in the list" });
    keys.forEach((key, i) => {
      // the secret's position, never its text
      const weak = weakKeyProblem(key);
      if (weak) ctx.addIssue({ code: "custom", message: `secret ${i + 1} ${weak}` });
    });
  }),
  /** several OpenAI projects, each with its secrets: a JSON list, or `@file.json` (docs/openai-projects.md) */
  OPENAI_PROJECTS: openaiProjectsVar(),
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
  /**
   * whose X-Forwarded-For to believe for the client address (the failed-authentication
   * limit counts by it): unset/false none, a number of hops, or proxy addresses/CIDRs
   */
  TRUST_PROXY: trustProxyVar(),
  /** senders beyond OpenAI: a JSON list, or `@file.json` (providers/providerConfig.ts) */
  WEBHOOK_PROVIDERS: providersVar(),
};

/**
 * With NODE_ENV=production the gateway refuses the public development secret, whether
 * OPENAI_WEBHOOK_SECRET is unset or set to it: anyone could sign events with it.
 */
export const checkGatewayEnv: EnvCheck = (config, issue) => {
  if (!isProduction(config)) return;
  // with OPENAI_PROJECTS the projects' secrets are used, and OPENAI_WEBHOOK_SECRET is not
  if (config.OPENAI_PROJECTS !== undefined) return;
  const secrets = String(config.OPENAI_WEBHOOK_SECRET ?? "").split(/[\s,]+/);
  if (secrets.includes(DEV_WEBHOOK_SECRET)) {
    issue(
      "OPENAI_WEBHOOK_SECRET",
      "must be set when NODE_ENV=production: unset, the gateway would verify with the public development secret, which anyone can sign with. Set it to your OpenAI endpoint's signing secret (whsec_…)",
    );
  }
};

export const GatewayConfig = serviceConfigSchema("gateway", gatewayEnv, checkGatewayEnv);
export type GatewayConfig = z.infer<typeof GatewayConfig>;

/** The body limit: the configured one, or less so that body + headers fit in one NATS message. */
export function effectiveBodyLimit(configured: number, maxPayload: number | undefined): number {
  return Math.min(configured, (maxPayload ?? NATS_DEFAULT_MAX_PAYLOAD) - HEADER_ALLOWANCE_BYTES);
}
